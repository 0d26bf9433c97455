-- modern district: marriage registrations changed since the watermark (minus the look-back).
SELECT id, ma_so, so_dang_ky, ngay_dang_ky, chong_ho_ten, chong_ngay_sinh, chong_so_dinh_danh,
       chong_dan_toc, vo_ho_ten, vo_ngay_sinh, vo_so_dinh_danh, vo_dan_toc, updated_at
FROM ket_hon
WHERE updated_at >= :since
ORDER BY id
