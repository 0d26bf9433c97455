"""The synthetic Bắc Ninh province (``province.generate``) and its ground truth (``oracle``).

Kept free of imports, so that its modules import one another without a cycle.
"""
