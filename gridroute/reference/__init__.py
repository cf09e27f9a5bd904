"""Reference data: categories (部件/事件 小类), standards (立案/结案条件, 处置时限), responsible
units and components, loaded from CSV files or the standards spreadsheet."""
from gridroute.reference.loaders import (
    ReferenceDataError, load_categories_csv, load_components_csv, load_reference,
    load_standards_csv, load_standards_xlsx, load_units_csv,
)
from gridroute.reference.models import (
    KIND_LETTERS, UNIT_TYPES, URGENCIES, Category, Component, ReferenceData, Standard, Unit,
    UnitType, Urgency,
)

__all__ = [
    "Category", "Component", "KIND_LETTERS", "ReferenceData", "ReferenceDataError", "Standard",
    "UNIT_TYPES", "URGENCIES", "Unit", "load_categories_csv", "load_components_csv",
    "load_reference", "load_standards_csv", "load_standards_xlsx", "load_units_csv",
    "UnitType", "Urgency",
]
