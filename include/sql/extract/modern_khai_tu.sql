-- modern district: death registrations changed since the watermark (minus the look-back).
SELECT id, ma_so, so_dang_ky, ngay_dang_ky, so_dinh_danh, ho_ten, gioi_tinh, ngay_sinh,
       ngay_chet, noi_chet, nguyen_nhan, updated_at
FROM khai_tu
WHERE updated_at >= :since
ORDER BY id
