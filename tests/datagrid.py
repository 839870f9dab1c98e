"""What a clinician can read of an ``st.dataframe`` in Chromium: column positions and widths.

The table is glide-data-grid drawn on a canvas, so its headers are no DOM text with a
box: the canvas holds an accessible table for screen readers, but only as fallback
content, without layout (and only for the columns in view). The widths the grid drew
with are the props of its React component (the ``columns`` Streamlit sized, the canvas
``width``, the frozen columns and the horizontal scroll); this reads them from the
rendered component and lays the columns out as glide does, so a test can say which
columns the clinician sees whole, and whether a header or a value fits its column.
"""

from __future__ import annotations

from dataclasses import dataclass

# Runs in the page on one [data-testid=stDataFrame]: the grid's own props, then the
# geometry and the text widths measured with the grid's own fonts.
GEOMETRY_JS = r"""
(el) => {
  const canvas = el.querySelector('canvas[data-testid=data-grid-canvas]');
  if (!canvas) return null;
  const fiberKey = Object.keys(canvas).find(k => k.startsWith('__reactFiber$'));
  let fiber = canvas[fiberKey], props = null;
  for (let depth = 0; fiber && depth < 40; depth++, fiber = fiber.return) {
    const p = fiber.memoizedProps;
    if (p && Array.isArray(p.columns) && typeof p.width === 'number' && 'freezeColumns' in p
        && typeof p.getCellContent === 'function') { props = p; break; }
  }
  if (!props) return null;
  const scroller = el.querySelector('.dvn-scroller');
  const visible = scroller ? scroller.clientWidth : props.width;
  const widths = props.columns.map(c => c.width);
  const freeze = props.freezeColumns;
  const frozen = widths.slice(0, freeze).reduce((a, b) => a + b, 0);
  const measure = document.createElement('canvas').getContext('2d');
  const theme = props.theme || {};
  const textWidth = (text, font) => { measure.font = font; return measure.measureText(text).width; };
  const headerFont = `${theme.headerFontStyle || '600 13px'} ${theme.fontFamily || 'sans-serif'}`;
  const cellFont = `${theme.baseFontStyle || '13px'} ${theme.fontFamily || 'sans-serif'}`;
  const padding = theme.cellHorizontalPadding ?? 8;
  const out = [];
  let x = 0;
  for (let i = 0; i < widths.length; i++) {
    let left;
    if (i < freeze) { left = x; x += widths[i]; }
    else if (i < props.cellXOffset) { left = -Infinity; }
    else {
      left = frozen + props.translateX + widths.slice(props.cellXOffset, i).reduce((a, b) => a + b, 0);
    }
    const column = props.columns[i];
    let longest = 0;
    for (let r = 0; r < props.rows; r++) {
      const cell = props.getCellContent([i, r]);
      const text = cell && typeof cell.displayData === 'string' ? cell.displayData : '';
      longest = Math.max(longest, textWidth(text, cellFont));
    }
    out.push({
      title: column.title || '', width: widths[i], left, right: left + widths[i], pinned: i < freeze,
      header: textWidth(column.title || '', headerFont) + 2 * padding, longest: longest + 2 * padding,
    });
  }
  return {visible, frozen, columns: out};
}
"""


@dataclass(frozen=True)
class Column:
    title: str
    width: float
    left: float
    right: float
    pinned: bool
    header: float  # px the header's words need, padding included
    longest: float  # px the widest value needs, padding included


@dataclass(frozen=True)
class Grid:
    visible: float  # px of the table the clinician sees, scroll bar excluded
    columns: list[Column]

    def column(self, title: str) -> Column:
        found = [c for c in self.columns if c.title == title]
        assert found, f"no column {title!r} in {[c.title for c in self.columns]}"
        return found[0]

    def in_view(self, title: str) -> bool:
        """The whole column is inside the table's visible area, without scrolling."""
        c = self.column(title)
        return c.left >= 0 and c.right <= self.visible + 0.5

    def problems(self, titles: list[str], whole_values: tuple[str, ...] = ()) -> list[str]:
        """Each named column not wholly in view or whose header it cuts, and each of
        ``whole_values`` whose values it cuts ("risk answ")."""
        out = []
        for title in titles:
            c = self.column(title)
            if not self.in_view(title):
                out.append(f"{title!r} at {c.left:.0f}-{c.right:.0f} px of {self.visible:.0f} px")
            if c.header > c.width + 0.5:
                out.append(f"{title!r} header needs {c.header:.0f} px, has {c.width:.0f}")
            if title in whole_values and c.longest > c.width + 0.5:
                out.append(f"{title!r} values need {c.longest:.0f} px, have {c.width:.0f}")
        return out


def grids(page) -> list[Grid]:
    """Every table drawn on the page (a table in a closed expander is not drawn)."""
    found = []
    for el in page.locator("[data-testid='stDataFrame']").all():
        if not el.is_visible():
            continue
        raw = el.evaluate(GEOMETRY_JS)
        if raw:
            found.append(Grid(raw["visible"], [Column(**c) for c in raw["columns"]]))
    return found


def grid_with(page, *titles: str) -> Grid:
    """The visible table having all these column titles."""
    for grid in grids(page):
        if set(titles) <= {c.title for c in grid.columns}:
            return grid
    raise AssertionError(f"no visible table with columns {titles}")
