"""The NHS identity colours and the series order of every chart: the dashboard's (Plotly) and the
assurance pack's (Matplotlib SVG), so a role or an age band has the same colour on screen and on paper."""

from __future__ import annotations

# NHS identity colours (NHS England brand guidelines)
NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
NHS_BRIGHT_BLUE = "#0072CE"
NHS_LIGHT_BLUE = "#41B6E6"
NHS_AQUA_BLUE = "#00A9CE"
NHS_BLACK = "#231F20"
NHS_DARK_GREY = "#425563"
NHS_MID_GREY = "#768692"
NHS_PALE_GREY = "#E8EDEE"
NHS_WHITE = "#FFFFFF"
NHS_DARK_GREEN = "#006747"
NHS_GREEN = "#009639"
NHS_AQUA_GREEN = "#00A499"
NHS_PURPLE = "#330072"
NHS_DARK_PINK = "#7C2855"
NHS_DARK_RED = "#8A1538"
NHS_ORANGE = "#ED8B00"
NHS_WARM_YELLOW = "#FFB81C"
NHS_TEXT = "#212B32"  # the NHS.UK frontend's text colour (the app theme's is darker: .streamlit/config.toml)

# Series colours in order: use the first two for a pair (0-15 against 16-17), and add a marker or dash
# pattern as well as colour beyond the first four.
CATEGORICAL: tuple[str, ...] = (
    NHS_BLUE,
    NHS_ORANGE,
    NHS_LIGHT_BLUE,
    NHS_DARK_GREY,
    NHS_WARM_YELLOW,
    NHS_DARK_PINK,
    NHS_AQUA_GREEN,
    NHS_PURPLE,
)
PAIR: tuple[str, str] = (NHS_BLUE, NHS_ORANGE)
