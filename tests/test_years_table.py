"""docs/datasets.md's table of year facts is asdbench.data.years.YEARS, row by row, and every reader of a year reads
its row: the dataset plugins' options, ``--year``, the synthetic presets' channels and sections."""

from __future__ import annotations

import re
from pathlib import Path

from asdbench.cli.main import _parser
from asdbench.contract.registry import get_registry
from asdbench.data.years import GROUND_TRUTH_LAYOUTS, METRICS, READER_OPTIONS, SCORE_FILES, YEARS
from asdbench.synth.presets import PRESETS

DOC = Path(__file__).resolve().parent.parent / "docs" / "datasets.md"


def documented_rows() -> list[list[str]]:
    text = DOC.read_text()
    table = text[text.index("<!-- years-table"):text.index("<!-- end of years-table -->")]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table.splitlines()[3:]]


def row_of(year) -> list[str]:
    return [str(year.year), f"`{year.dataset}`", ", ".join(year.machines["dev"]), ", ".join(year.machines["eval"]),
            "machine IDs, per machine (below)" if year.machine_sections
            else f"{', '.join(year.sections['dev'])} / {', '.join(year.sections['eval'])}", str(year.channels),
            f"{year.longest_clip_seconds:g}", "yes" if year.supplemental else "no",
            ", ".join(f"`{option}`" for option in year.options), year.ground_truth, year.metric, year.score_files]


def test_the_docs_table_is_the_table_of_year_facts():
    assert documented_rows() == [row_of(year) for year in YEARS.values()]


def test_every_row_names_a_known_layout_metric_and_options():
    for year in YEARS.values():
        assert year.ground_truth in GROUND_TRUTH_LAYOUTS and year.metric in METRICS and year.score_files in SCORE_FILES
        assert set(year.options) <= set(READER_OPTIONS) and set(year.machines) == set(year.sections) == {"dev", "eval"}
        assert all(re.fullmatch(r"\d{2}", section) for sections in year.sections.values() for section in sections)


def test_each_year_is_a_dataset_plugin_with_the_options_of_its_row():
    registry = get_registry()
    for year in YEARS.values():
        assert list(registry.get("datasets", year.dataset).options()) == ["root", *year.options]


def test_the_command_line_and_the_presets_read_the_table():
    year_option = next(action for sub in _parser()._subparsers._group_actions[0].choices.values()
                       for action in sub._actions if action.dest == "year")
    assert year_option.choices == sorted(YEARS)
    for preset in PRESETS.values():
        assert preset.channels == YEARS[preset.year].channels
        assert preset.sections == (preset.own_sections or YEARS[preset.year].sections)


def test_the_docs_table_of_the_2020_machine_ids_is_the_years():
    text = DOC.read_text()
    table = text[text.index("<!-- ids-2020"):text.index("<!-- end of ids-2020 -->")]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table.splitlines()[3:]
            if line.strip()]
    year = YEARS[2020]
    assert rows == [[machine, ", ".join(year.sections_of("dev", machine)), ", ".join(year.sections_of("eval", machine))]
                    for machine in year.machines["dev"]]
