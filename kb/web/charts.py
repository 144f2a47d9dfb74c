"""Server-rendered SVG charts: the geometry is computed here, templates/_charts.html draws it.

No JavaScript: the chart is part of the page, readable with scripts off, printable, and its numbers are
also in the table beside it.
"""

from __future__ import annotations

WIDTH, HEIGHT = 640, 220
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 44, 44, 16, 28


def year_chart(series: list[dict]) -> dict | None:
    """Decisions per year as stacked bars (upheld below, overturned above), and the overturn rate as a line
    on its own 0-100 % scale at the right."""
    if not series:
        return None
    years = list(range(series[0]["year"], series[-1]["year"] + 1))
    by_year = {row["year"]: row for row in series}
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    peak = max(row["total"] for row in series)
    step = plot_width / len(years)
    bar = max(2.0, step * 0.7)
    bottom = MARGIN_TOP + plot_height
    bars, points = [], []
    for n, year in enumerate(years):
        row = by_year.get(year)
        x = MARGIN_LEFT + n * step + (step - bar) / 2
        total = row["total"] if row else 0
        upheld_h = plot_height * (row["upheld"] if row else 0) / peak
        overturned_h = plot_height * (row["overturned"] if row else 0) / peak
        bars.append({
            "year": year, "x": round(x, 1), "width": round(bar, 1), "total": total,
            "upheld": row["upheld"] if row else 0, "overturned": row["overturned"] if row else 0,
            "upheld_y": round(bottom - upheld_h, 1), "upheld_h": round(upheld_h, 1),
            "overturned_y": round(bottom - upheld_h - overturned_h, 1), "overturned_h": round(overturned_h, 1),
            "label_x": round(x + bar / 2, 1), "row": row,
        })
        if row and row["total"]:
            points.append((round(x + bar / 2, 1), round(bottom - plot_height * row["overturned"] / row["total"], 1)))
    return {
        "width": WIDTH, "height": HEIGHT, "bars": bars, "bottom": bottom, "top": MARGIN_TOP,
        "left": MARGIN_LEFT, "right": WIDTH - MARGIN_RIGHT, "peak": peak,
        "rate_line": " ".join(f"{x},{y}" for x, y in points), "rate_points": points,
        "label_every": max(1, len(years) // 12),
    }
