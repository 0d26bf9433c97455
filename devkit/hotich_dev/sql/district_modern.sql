-- A modern district's database (docs/district-sources.md): PostgreSQL, MySQL/MariaDB or
-- SQLite. The synthetic province and the tests create their sources with it.
CREATE TABLE so_ho_tich (
  ma_so        VARCHAR(32) PRIMARY KEY,
  loai         VARCHAR(2)  NOT NULL,
  nam          SMALLINT    NOT NULL,
  quyen        SMALLINT    NOT NULL,
  ma_xa        VARCHAR(5)  NOT NULL
);
CREATE TABLE khai_sinh (
  id            BIGINT PRIMARY KEY,
  ma_so         VARCHAR(32) NOT NULL REFERENCES so_ho_tich(ma_so),
  so_dang_ky    INTEGER,
  ngay_dang_ky  DATE,
  so_dinh_danh  VARCHAR(20),
  ho_ten        VARCHAR(100),
  gioi_tinh     VARCHAR(3),
  ngay_sinh     DATE,
  noi_sinh      VARCHAR(255),
  dan_toc       VARCHAR(50),
  quoc_tich     VARCHAR(50),
  ho_ten_me     VARCHAR(100),
  ngay_sinh_me  DATE,
  ho_ten_cha    VARCHAR(100),
  ngay_sinh_cha DATE,
  updated_at    TIMESTAMP NOT NULL
);
CREATE TABLE khai_tu (
  id            BIGINT PRIMARY KEY,
  ma_so         VARCHAR(32) NOT NULL REFERENCES so_ho_tich(ma_so),
  so_dang_ky    INTEGER,
  ngay_dang_ky  DATE,
  so_dinh_danh  VARCHAR(20),
  ho_ten        VARCHAR(100),
  gioi_tinh     VARCHAR(3),
  ngay_sinh     DATE,
  ngay_chet     DATE,
  noi_chet      VARCHAR(255),
  nguyen_nhan   VARCHAR(255),
  updated_at    TIMESTAMP NOT NULL
);
CREATE TABLE ket_hon (
  id                  BIGINT PRIMARY KEY,
  ma_so               VARCHAR(32) NOT NULL REFERENCES so_ho_tich(ma_so),
  so_dang_ky          INTEGER,
  ngay_dang_ky        DATE,
  chong_ho_ten        VARCHAR(100),
  chong_ngay_sinh     DATE,
  chong_so_dinh_danh  VARCHAR(20),
  chong_dan_toc       VARCHAR(50),
  vo_ho_ten           VARCHAR(100),
  vo_ngay_sinh        DATE,
  vo_so_dinh_danh     VARCHAR(20),
  vo_dan_toc          VARCHAR(50),
  updated_at          TIMESTAMP NOT NULL
);
