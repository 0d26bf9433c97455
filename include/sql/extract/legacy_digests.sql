-- legacy district (MariaDB): each row's ID and a digest of its content computed by the
-- server, so that only the rows whose digest differs from the one kept when they were last
-- read (recon.source_digest) are sent whole (legacy_rows.sql; decision 0020). MD5 of the
-- columns of legacy_hotich.sql joined by U+001F, NULL as U+001E: a change digest, not a
-- security one (the content hash of hotich.extract decides what changed).
SELECT ID, MD5(CONCAT_WS(CHAR(31 USING utf8mb4),
    IFNULL(ID, CHAR(30 USING utf8mb4)), IFNULL(LoaiGiay, CHAR(30 USING utf8mb4)),
    IFNULL(SoQuyen, CHAR(30 USING utf8mb4)), IFNULL(SoDK, CHAR(30 USING utf8mb4)),
    IFNULL(NgayDK, CHAR(30 USING utf8mb4)), IFNULL(HoTen, CHAR(30 USING utf8mb4)),
    IFNULL(GioiTinh, CHAR(30 USING utf8mb4)), IFNULL(NgaySinh, CHAR(30 USING utf8mb4)),
    IFNULL(SoDinhDanh, CHAR(30 USING utf8mb4)), IFNULL(HoTen2, CHAR(30 USING utf8mb4)),
    IFNULL(NgaySinh2, CHAR(30 USING utf8mb4)), IFNULL(SoDinhDanh2, CHAR(30 USING utf8mb4)),
    IFNULL(HoTenCha, CHAR(30 USING utf8mb4)), IFNULL(NgayChet, CHAR(30 USING utf8mb4)),
    IFNULL(NoiSinhChet, CHAR(30 USING utf8mb4)), IFNULL(DanToc, CHAR(30 USING utf8mb4)),
    IFNULL(GhiChu, CHAR(30 USING utf8mb4)))) AS digest
FROM hotich
ORDER BY ID
