"""gridroute: grid-based urban management event router (城市网格化管理)."""
__version__ = "0.1.0"
