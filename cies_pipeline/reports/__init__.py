"""What people look at instead of querying: the static reconciliation site and the state feedback workbooks.

data.py reads the published warehouse (never the full-detail victims) and shapes the figures; charts.py draws
them with matplotlib as inline SVG; site.py writes the HTML pages; workbook.py the per-state .xlsx. No Dagster.
"""
