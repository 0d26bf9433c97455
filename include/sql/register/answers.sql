-- The answers written for these keys: one row per (key, citizen).
SELECT ask_key, so_dinh_danh, ho_ten, gioi_tinh, ngay_sinh, noi_dang_ky_khai_sinh,
       ho_ten_cha, ho_ten_me, trang_thai, ngay_chet
  FROM recon.register_answer
 WHERE run_id = %(run_id)s AND kind = %(kind)s AND ask_key = ANY(%(keys)s);
