-- legacy district: the rows of the given IDs, whose server digest changed since they were
-- last read (legacy_digests.sql). Parameter: ids (expanded to a list).
SELECT ID, LoaiGiay, SoQuyen, SoDK, NgayDK, HoTen, GioiTinh, NgaySinh, SoDinhDanh, HoTen2,
       NgaySinh2, SoDinhDanh2, HoTenCha, NgayChet, NoiSinhChet, DanToc, GhiChu
FROM hotich
WHERE ID IN :ids
ORDER BY ID
