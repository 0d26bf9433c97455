-- legacy district: every row (no change timestamp: changes are found by content hash).
SELECT ID, LoaiGiay, SoQuyen, SoDK, NgayDK, HoTen, GioiTinh, NgaySinh, SoDinhDanh, HoTen2,
       NgaySinh2, SoDinhDanh2, HoTenCha, NgayChet, NoiSinhChet, DanToc, GhiChu
FROM hotich
ORDER BY ID
