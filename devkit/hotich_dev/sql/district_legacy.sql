-- A legacy district's wide table (docs/district-sources.md), in MySQL/MariaDB form;
-- hotich_dev.source_schema.legacy_ddl gives the SQLite form.
CREATE TABLE hotich (
  ID          INT AUTO_INCREMENT PRIMARY KEY,
  LoaiGiay    VARCHAR(2),
  SoQuyen     VARCHAR(32),
  SoDK        VARCHAR(10),
  NgayDK      VARCHAR(10),
  HoTen       VARCHAR(100),
  GioiTinh    VARCHAR(5),
  NgaySinh    VARCHAR(10),
  SoDinhDanh  VARCHAR(20),
  HoTen2      VARCHAR(100),
  NgaySinh2   VARCHAR(10),
  SoDinhDanh2 VARCHAR(20),
  HoTenCha    VARCHAR(100),
  NgayChet    VARCHAR(10),
  NoiSinhChet VARCHAR(255),
  DanToc      VARCHAR(50),
  GhiChu      TEXT
) DEFAULT CHARSET=utf8mb4;
