"""Name parts the benchmarks draw synthetic Vietnamese names from (one list, shared)."""

from __future__ import annotations

SURNAMES = (
    "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đào Đinh Trịnh "
    "Lâm Hà Tô Lương Thái Kiều Quách Tạ Lại Châu Triệu Đoàn Trương Nghiêm Phùng Vương"
).split()
MIDDLES = "Văn Thị Hữu Đức Minh Ngọc Thanh Quốc Xuân Bảo Phương Diệu Trọng Hồng Đình Công".split()
GIVENS = (
    "An Anh Ánh Bình Chi Cường Dũng Dung Đạt Giang Hà Hải Hạnh Hiếu Hoa Hòa Hùng Hương Huy "
    "Khánh Lan Linh Loan Long Mai Minh My Nam Nga Ngọc Nhung Oanh Phúc Phương Quang Quân "
    "Quỳnh Sơn Tâm Thảo Thủy Trang Trung Tuấn Tú Uyên Vân Việt Vy Xuân Yến Khuê Thoa Lụa "
    "Nguyệt Chuyên Ngoan Quyết Trường Thắng Thành Tiến Toàn Tùng Vinh Sang Phát Lộc Tài"
).split()
