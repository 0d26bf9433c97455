-- modern district: birth registrations changed since the watermark (minus the look-back).
SELECT id, ma_so, so_dang_ky, ngay_dang_ky, so_dinh_danh, ho_ten, gioi_tinh, ngay_sinh,
       noi_sinh, dan_toc, quoc_tich, ho_ten_me, ngay_sinh_me, ho_ten_cha, ngay_sinh_cha,
       updated_at
FROM khai_sinh
WHERE updated_at >= :since
ORDER BY id
