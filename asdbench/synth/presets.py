"""The synthetic presets and the year styles they follow: machines, which hide their attributes, which have a
``supplemental/`` folder of clean machine sound or of noise, and how many channels a file has.

Plain data, so that the command line lists the presets without importing NumPy. Channels and sections are the
year's (asdbench.data.years), but where a preset has sections of its own. The machine names of each year
style are the organisers' (docs/datasets.md); the sounds are asdbench's synthetic families. Where the real data
leaves a choice open (which 2025 machine types have clean and which noise-only supplemental clips, which 2026
machines conceal their attributes), the synthetic style makes one, alternating down its list, so that even the
two machines per split of the small presets cover both kinds; these choices are not claims about the real data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from asdbench.data.years import YEARS

Machines = tuple[tuple[str, str], ...]
"""(name, sound family) of each machine of a split, in the order the small presets take them."""

DEV_MACHINES: Machines = (("fan", "rotor"), ("gearbox", "gear"), ("valve", "impact"), ("slider", "motor"),
                          ("bearing", "rotor"), ("ToyCar", "motor"), ("ToyTrain", "impact"))
EVAL_MACHINES: Machines = (("ToyTank", "gear"), ("HoveringDrone", "rotor"), ("grinder", "motor"),
                           ("AirCompressor", "flow"), ("bandsaw", "gear"), ("ToothBrush", "motor"), ("shaker", "impact"))
# 2024 style: 3 of 7 dev and 4 of 7 eval machines carry noAttribute, as in DCASE 2024.
HIDDEN_2024 = frozenset({"gearbox", "slider", "ToyTrain", "HoveringDrone", "AirCompressor", "ToothBrush", "shaker"})

# DCASE 2025: the organisers' machine types; hidden ones as their released correspondence files say.
DEV_2025: Machines = (("slider", "motor"), ("fan", "rotor"), ("bearing", "rotor"), ("gearbox", "gear"),
                      ("ToyTrain", "impact"), ("valve", "impact"), ("ToyCar", "motor"))
EVAL_2025: Machines = (("AutoTrash", "impact"), ("HomeCamera", "motor"), ("Polisher", "rotor"), ("ToyRCCar", "motor"),
                       ("ScrewFeeder", "gear"), ("BandSealer", "flow"), ("ToyPet", "motor"), ("CoffeeGrinder", "gear"))
HIDDEN_2025 = frozenset({"slider", "bearing", "ToyTrain", "AutoTrash", "Polisher", "ScrewFeeder", "ToyPet"})

# DCASE 2026: the organisers' machine types (two-channel audio); which hide their attributes is a synthetic choice.
DEV_2026: Machines = (("ToyCar", "motor"), ("ToyCarEmu", "motor"), ("bearingEmu", "rotor"), ("fan", "rotor"),
                      ("gearboxEmu", "gear"), ("sliderEmu", "motor"), ("valveEmu", "impact"))
EVAL_2026: Machines = (("ToyDrone", "rotor"), ("ToothBrush", "motor"), ("SewingMachine", "motor"),
                       ("BlowerDustCollector", "flow"), ("Sander", "motor"))

# The regression gate's machines (leaderboard/gate.toml): ventilators only, whose sound a system must learn to
# separate from chance, so that a system that no longer trains fails CI.
GATE_DEV: Machines = (("ventilator-a", "ventilator"), ("ventilator-b", "ventilator"))
GATE_EVAL: Machines = (("ventilator-c", "ventilator"), ("ventilator-d", "ventilator"))


def _every_second(*lists: Machines) -> frozenset[str]:
    """The machines at odd positions of each list."""
    return frozenset(name for machines in lists for name, _ in machines[1::2])


@dataclass(frozen=True)
class YearStyle:
    """What a year's data looks like, as far as the generator needs it."""

    dev: Machines
    eval: Machines
    hidden: frozenset[str]  # machines whose names and tables carry noAttribute
    noise_only: frozenset[str] = field(default_factory=frozenset)  # supplemental clips of noise, not machine sound


# DCASE 2020-2022: the organisers' machine types, in both splits (the eval split has other IDs or sections of them).
MACHINES_2020: Machines = (("fan", "rotor"), ("pump", "flow"), ("slider", "motor"), ("valve", "impact"),
                           ("ToyCar", "motor"), ("ToyConveyor", "gear"))
MACHINES_2021: Machines = (("fan", "rotor"), ("gearbox", "gear"), ("pump", "flow"), ("slider", "motor"),
                           ("valve", "impact"), ("ToyCar", "motor"), ("ToyTrain", "impact"))
MACHINES_2022: Machines = (("fan", "rotor"), ("gearbox", "gear"), ("bearing", "rotor"), ("slider", "motor"),
                           ("valve", "impact"), ("ToyCar", "motor"), ("ToyTrain", "impact"))

STYLES: dict[int, YearStyle] = {
    2020: YearStyle(MACHINES_2020, MACHINES_2020, frozenset()),
    2021: YearStyle(MACHINES_2021, MACHINES_2021, frozenset()),
    2022: YearStyle(MACHINES_2022, MACHINES_2022, frozenset()),
    2023: YearStyle(DEV_MACHINES, EVAL_MACHINES, frozenset()),
    2024: YearStyle(DEV_MACHINES, EVAL_MACHINES, HIDDEN_2024),
    2025: YearStyle(DEV_2025, EVAL_2025, HIDDEN_2025, noise_only=_every_second(DEV_2025, EVAL_2025)),
    2026: YearStyle(DEV_2026, EVAL_2026, _every_second(DEV_2026, EVAL_2026)),
}


@dataclass(frozen=True)
class Preset:
    """Clip length, machines per split, and clips per machine of a synthetic dataset."""

    seconds: float
    machines_per_split: int  # at most: a split of a year style may have fewer
    train_source: int
    train_target: int
    test: int  # balanced: a quarter each of source/target x normal/anomaly (half normal, half anomalous without domains)
    year: int  # the year style (STYLES): which machines, hidden attributes, supplemental clips; the year's channels
    supplemental: int = 0  # clips per machine in a supplemental/ folder
    own_machines: YearStyle | None = None  # machines of the preset's own, in place of its year's
    snr_db: tuple[float, float] = (0.0, 15.0)  # range the machine-to-noise ratio of each clip is drawn from
    own_sections: dict[str, tuple[str, ...]] | None = None  # sections per split, in place of the year's

    @property
    def sections(self) -> dict[str, tuple[str, ...]]:
        """The sections of the machines of each split: the preset's own, or its year's (asdbench.data.years)."""
        return dict(self.own_sections or YEARS[self.year].sections)

    def sections_of(self, split: str, machine: str) -> tuple[str, ...]:
        """The sections (or machine IDs) of one machine: the preset's own, or what its year gives that machine."""
        return self.own_sections[split] if self.own_sections else YEARS[self.year].sections_of(split, machine)

    @property
    def domains(self) -> tuple[str, ...]:
        """The domains of its clips: source and target, or source alone in a year without domains (2020)."""
        return ("source",) if YEARS[self.year].layout == "ids" else ("source", "target")

    @property
    def layout(self) -> str:
        """How its clips are foldered and named: its year's layout (asdbench.data.layouts)."""
        return YEARS[self.year].layout

    @property
    def channels(self) -> int:
        return YEARS[self.year].channels

    @property
    def clips_per_machine(self) -> int:
        """Clips per machine section."""
        return self.train_source + (self.train_target if len(self.domains) > 1 else 0) + self.test + self.supplemental

    @property
    def style(self) -> YearStyle:
        return self.own_machines or STYLES[self.year]


PRESETS: dict[str, Preset] = {
    "tiny": Preset(1.0, 2, 10, 2, 8, 2024),
    "ci": Preset(2.0, 4, 90, 6, 40, 2024),
    "demo": Preset(4.0, 4, 190, 10, 60, 2024),
    "dcase2023": Preset(10.0, 7, 990, 10, 200, 2023),
    "dcase2024": Preset(10.0, 7, 990, 10, 200, 2024),
    "dcase2025": Preset(10.0, 8, 990, 10, 200, 2025, supplemental=100),
    "dcase2026": Preset(10.0, 7, 990, 10, 200, 2026),
    "ci2025": Preset(1.0, 2, 10, 2, 8, 2025, supplemental=4),
    "ci2026": Preset(1.0, 2, 10, 2, 8, 2026),
    # Several sections per machine, as DCASE 2020-2022 have (dev and eval sections apart, as in 2021): a test set.
    "sections": Preset(1.0, 2, 10, 2, 8, 2024, own_sections={"dev": ("00", "01"), "eval": ("02", "03")}),
    # The layouts of DCASE 2020 (machine IDs, no domains), 2021 (a test folder per domain) and 2022, small and DCASE-sized
    "ci2020": Preset(1.0, 2, 10, 0, 8, 2020),
    "ci2021": Preset(1.0, 2, 10, 2, 8, 2021),
    "ci2022": Preset(1.0, 2, 10, 2, 8, 2022),
    "dcase2020": Preset(10.0, 6, 990, 0, 200, 2020),
    "dcase2021": Preset(10.0, 7, 1000, 3, 400, 2021),
    "dcase2022": Preset(10.0, 7, 990, 10, 200, 2022),
    # The regression gate: four ventilators in noise louder than they are (-10 to 0 dB), on which an untrained
    # network scores near chance and a trained one far above it (leaderboard/gate.toml).
    "gate": Preset(4.5, 2, 100, 6, 80, 2023, own_machines=YearStyle(GATE_DEV, GATE_EVAL, frozenset()),
                   snr_db=(-10.0, 0.0)),
}
PRESET_NAMES = tuple(PRESETS)


def machines_of(preset: Preset) -> dict[str, Machines]:
    """(name, family) of the machines of each split."""
    style = preset.style
    return {"dev": style.dev[: preset.machines_per_split], "eval": style.eval[: preset.machines_per_split]}


def is_hidden(preset: Preset, machine: str) -> bool:
    return machine in preset.style.hidden


def supplemental_kind(preset: Preset, machine: str) -> str | None:
    """What a machine's supplemental clips hold ("machine" or "noise"), or None where it has none."""
    if not preset.supplemental:
        return None
    return "noise" if machine in preset.style.noise_only else "machine"
