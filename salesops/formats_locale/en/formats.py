"""How salesops shows dates and numbers in English (FORMAT_MODULE_PATH): one date format with the year
everywhere ("4 Dec 2026", "4 Dec 2026, 14:05"), thousands separated by commas. Date inputs keep the ISO
format (Django's defaults for English), which browsers' date pickers need."""

DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "M Y"
TIME_FORMAT = "H:i"
FIRST_DAY_OF_WEEK = 1
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
