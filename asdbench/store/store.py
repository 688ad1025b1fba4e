"""The run store computing: trainings and runs brought to done, each claimed by one process at a time.

Specs that differ only in how they score (backend, its options, the checkpoints ensembled, the decision
quantile; see :data:`asdbench.spec.schema.SCORING_FIELDS`) share one training: it is trained once, keeps the
checkpoints and embeddings every scoring needs, and each scoring reuses the stored embeddings. The layout of
both levels is described in :mod:`asdbench.store.stages`; how a store is read, in :mod:`asdbench.store.reading`.
A process computes a training or a run only while it holds its claim (:mod:`asdbench.store.claims`: an OS file
lock, released by the kernel when its holder dies, so a killed worker never blocks a run; or a lock on the Dask
scheduler).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from asdbench.contract.registry import Registry, get_registry
from asdbench.errors import AsdbenchError, HostError, WriteError
from asdbench.files.atomic import write_json_atomic
from asdbench.spec.identity import RunSpec
from asdbench.spec.validate import validate_spec
from asdbench.store import codeprint, datacheck, featurespaces, preflight, pseudolabels, stale
from asdbench.store.checks import UnknownOrigin, scoring_problem, set_aside_problem, training_problem
from asdbench.store.claims import Claim
from asdbench.store.layout import RESULTS, read_json, trained_embeddings, training_complete
from asdbench.store.listing import SYSTEMS
from asdbench.store.once import POLL_SECONDS, record_failure
from asdbench.store.pseudolabels import PseudoLabels
from asdbench.store.reading import ERROR, RunState, StoredRuns

if TYPE_CHECKING:
    from asdbench.store.stages import PreparedTraining



@dataclass(frozen=True)
class Outcome:
    """What one attempt at a run came to."""

    hash: str
    state: RunState
    results: dict[str, Any] | None = None
    error: str | None = None
    error_file: Path | None = None


@dataclass(frozen=True)
class _Claim:
    """A training this process holds the claim of, and the runs that wait for it."""

    runs: list[RunSpec]
    epochs: list[int]
    lock: Claim


class Store(StoredRuns):
    """The run store, reading (:class:`StoredRuns`) and computing: trainings and runs brought to done."""

    def __init__(self, root: Path, claims: str = "files") -> None:
        super().__init__(root, claims)
        self._fingerprints: dict[str, str | None] = {}  # per [dataset] table: read once per store

    # --- computing ----------------------------------------------------------------------------------------

    def run(self, spec: RunSpec, registry: Registry, *, progress: bool = True,
            changed_code: str = "refuse") -> dict[str, Any]:
        """Bring one run to done in this process and return its results; its error, if any, is raised (and
        recorded). Before any work it is checked (:mod:`asdbench.store.preflight`: a problem there is raised, and
        recorded nowhere), then ``changed_code`` is applied to it (:func:`asdbench.store.stale.apply`). A run (or its
        training) that another process is computing is waited for, then read back."""
        preflight.refuse(preflight.check_runs(preflight.to_compute([spec], self, registry, changed_code),
                                              registry).problems)
        stale.apply(changed_code, [spec], self, registry)
        waiting = False
        while (outcome := self.attempt_group([spec], registry, progress=progress,
                                             raise_errors=True)[0]).state is RunState.RUNNING:
            if progress and not waiting:
                tqdm.write(f"waiting for another process, which is computing run {spec.hash} in {self.root}")
            waiting = True
            time.sleep(POLL_SECONDS)
        assert outcome.results is not None
        return outcome.results

    def attempt(self, spec: RunSpec, registry: Registry, *, progress: bool = False) -> Outcome:
        """Run ``spec`` unless it is done or another process holds it; a failure is recorded, not raised."""
        return self.attempt_group([spec], registry, progress=progress)[0]

    def attempt_group(self, specs: list[RunSpec], registry: Registry, *, progress: bool = False,
                      raise_errors: bool = False) -> list[Outcome]:
        """Attempt runs together: each training among them is trained once (several, differing only in their
        seed, stacked in one process), keeping the checkpoints and embeddings all its runs need; then each run
        is scored from its training's embeddings.

        The runs were checked before (:mod:`asdbench.store.preflight`: their data read, their backends built and
        given the data), once for a whole grid. Trainings and runs done or held elsewhere are left alone. When a
        stacked training fails, its trainings are attempted one at a time, so that only one that fails alone is
        recorded as failed.
        """
        outcomes: dict[str, Outcome] = {}
        by_training: dict[str, list[RunSpec]] = {}
        for spec in specs:
            if (self.directory(spec) / RESULTS).exists() and self._problem(spec) is None:
                self._check_data(spec, registry)
                outcomes[spec.hash] = Outcome(spec.hash, RunState.DONE, self.results(spec))
                continue
            by_training.setdefault(spec.training_hash, []).append(spec)
        ready, claims = [], []
        try:
            for runs in by_training.values():
                directory = self.training_directory(runs[0])
                epochs = sorted({epoch for spec in runs for epoch in spec.train["checkpoints"]})
                if self._trained(directory, epochs):
                    ready.append(runs)
                    continue
                lock = self.claim(directory)
                if lock is None:
                    outcomes |= {spec.hash: Outcome(spec.hash, RunState.RUNNING) for spec in runs}
                elif self._trained(directory, epochs):  # finished by another process before our lock
                    lock.release()
                    ready.append(runs)
                else:
                    claims.append(_Claim(runs, epochs, lock))
            for spec in (spec for claim in claims for spec in claim.runs):
                registry.hook.asdbench_run_started(run_dir=self.directory(spec), spec=spec.canonical)
            ready += self._train(claims, registry, progress, raise_errors, outcomes)
        finally:
            for claim in claims:
                claim.lock.release()
        trained_here = {spec.hash for claim in claims for spec in claim.runs}
        for spec in (spec for runs in ready for spec in runs):
            outcomes[spec.hash] = self._score(spec, registry, raise_errors, started=spec.hash in trained_here)
        return [outcomes[spec.hash] for spec in specs]

    def pseudolabels(self, spec: RunSpec, registry: Registry, *, progress: bool = True) -> PseudoLabels:
        """The pseudo-label table of ``spec`` (whose ``system.labels`` is ``pseudo:<feature space>``), computed
        in this store (:mod:`asdbench.store.pseudolabels`) or read back from it."""
        dataset = datacheck.open_dataset(spec.dataset, registry)
        manifests = {split: dataset.manifest(split) for split in spec.dataset["splits"]}
        return pseudolabels.compute(spec, registry, self.root, manifests, systems=self.systems(spec, registry),
                                    claim=self.claim, progress=progress)

    def systems(self, spec: RunSpec, registry: Registry, *, progress: bool = True) -> StoreSystems:
        """What a feature space of ``spec`` trains other systems with (see hookspecs.TrainedSystems)."""
        return StoreSystems(self, registry, spec, progress)

    @staticmethod
    def _trained(directory: Path, epochs: list[int]) -> bool:
        return training_complete(directory, epochs) and training_problem(directory) is None

    def _prepare(self, claim: _Claim, registry: Registry, progress: bool) -> PreparedTraining:
        from asdbench.store.stages import prepare_training  # the run machinery (torch) loads only when there is work

        spec = claim.runs[0]
        problem = training_problem(self.training_directory(spec))
        if problem is not None:  # training.json is written again, trained.json when training has caught up
            set_aside_problem(problem)
        return prepare_training(spec, self.training_directory(spec), registry, epochs=claim.epochs,
                                systems=self.systems(spec, registry, progress=progress), claim=self.claim,
                                progress=progress)

    def _train(self, claims: list[_Claim], registry: Registry, progress: bool, raise_errors: bool,
               outcomes: dict[str, Outcome]) -> list[list[RunSpec]]:
        """Train the claimed trainings; returns the runs of those that finished (failures go to ``outcomes``)."""
        from asdbench.store.stages import run_trainings

        if len(claims) > 1:
            try:
                run_trainings([self._prepare(claim, registry, progress) for claim in claims], progress=progress)
                for claim in claims:
                    (self.training_directory(claim.runs[0]) / ERROR).unlink(missing_ok=True)
                return [claim.runs for claim in claims]
            except (WriteError, HostError):  # the store cannot be written, or this machine cannot train: no
                raise                            # training is at fault, and none can go on
            except Exception as exc:  # find out below which training fails alone
                tqdm.write(f"stacked training of {len(claims)} runs failed ({type(exc).__name__}: {exc}); "
                           "attempting them one at a time", file=sys.stderr)
        finished = []
        for claim in claims:
            directory = self.training_directory(claim.runs[0])
            try:
                run_trainings([self._prepare(claim, registry, progress)], progress=progress)
            except Exception as exc:
                failure = self._failed(claim.runs[0], directory, exc, raise_errors)
                outcomes |= {spec.hash: replace(failure, hash=spec.hash) for spec in claim.runs}
                continue
            (directory / ERROR).unlink(missing_ok=True)
            finished.append(claim.runs)
        return finished

    def _score(self, spec: RunSpec, registry: Registry, raise_errors: bool, *, started: bool) -> Outcome:
        from asdbench.store.stages import score

        directory = self.directory(spec)
        lock = self.claim(directory)
        if lock is None:
            return Outcome(spec.hash, RunState.RUNNING)
        try:
            problem = scoring_problem(directory)
            if problem is None and (directory / RESULTS).exists():  # scored by another process since our check
                return Outcome(spec.hash, RunState.DONE, self.results(spec))
            if problem is not None:
                set_aside_problem(problem)
            if not started:
                registry.hook.asdbench_run_started(run_dir=directory, spec=spec.canonical)
            results = score(spec, self.training_directory(spec), directory, registry)
        except Exception as exc:
            return self._failed(spec, directory, exc, raise_errors)
        finally:
            lock.release()
        (directory / ERROR).unlink(missing_ok=True)
        registry.hook.asdbench_run_finished(run_dir=directory, spec=spec.canonical, results=results)
        return Outcome(spec.hash, RunState.DONE, results)

    def _failed(self, spec: RunSpec, directory: Path, exc: Exception, raise_errors: bool) -> Outcome:
        """Record ``exc`` in ``directory`` (a training's or a run's); raise it again when asked to. A store that
        cannot be written (a full disk) is no run's failure and cannot record one, a machine that cannot do the work
        (a device or dataset root it does not have) is no run's failure either, and a training whose code or data
        cannot be told is the user's to delete or keep: those errors stop the grid, writing nothing."""
        if isinstance(exc, WriteError | HostError | UnknownOrigin):
            raise exc
        message = record_failure(directory, exc)
        if raise_errors:
            raise exc
        return Outcome(spec.hash, RunState.FAILED, error=message, error_file=directory / ERROR)

    def _check_data(self, spec: RunSpec, registry: Registry) -> None:
        """A finished run made on other data than its dataset holds now raises DataError (asdbench.store.datacheck)."""
        key = json.dumps(spec.dataset, sort_keys=True)
        if key not in self._fingerprints:
            self._fingerprints[key] = datacheck.current_fingerprint(spec.dataset, registry)
        datacheck.check(self.training_directory(spec), self._fingerprints[key])


def attempt_in_process(spec_canonicals: list[dict[str, Any]], runs_root: str, claims: str = "files") -> list[Outcome]:
    """What a pool process or a Dask worker runs for one group: rebuild the registry there and attempt the group
    through the store (a module-level function, so that it is sent by reference)."""
    return Store(Path(runs_root), claims).attempt_group([RunSpec(c) for c in spec_canonicals], get_registry())


@dataclass(frozen=True)
class StoreSystems:
    """:class:`asdbench.contract.protocols.TrainedSystems` on a store: the systems are trainings in it, claimed with
    its claims (a training another process holds is waited for, not trained twice)."""

    store: Store
    registry: Registry
    spec: RunSpec
    progress: bool

    def embeddings(self, system: dict[str, Any], epoch: int) -> dict[str, np.ndarray]:
        from asdbench.store.stages import run_trainings

        spec = validate_spec({"seed": self.spec.seed, "dataset": self.spec.dataset, "system": system,
                              "train": {**self.spec.train, "checkpoints": sorted({*self.spec.train["checkpoints"],
                                                                                   epoch})}}, self.registry)
        directory = self.store.training_directory(spec)
        stale.refresh(directory, spec.canonical, codeprint.TRAINING, self.registry)
        while not self.store._trained(directory, [epoch]):
            lock = self.store.claim(directory)
            if lock is None:
                time.sleep(POLL_SECONDS)  # another process is training it: wait rather than train it twice
                continue
            claim = _Claim([spec], spec.train["checkpoints"], lock)
            try:
                if not self.store._trained(directory, [epoch]):  # a damaged file is set aside by _prepare
                    run_trainings([self.store._prepare(claim, self.registry, self.progress)], progress=self.progress)
            except Exception as exc:
                self.store._failed(spec, directory, exc, raise_errors=False)
                raise AsdbenchError(f"the system trained in {directory} for a feature space failed: "
                                    f"{type(exc).__name__}: {exc}") from exc
            finally:
                lock.release()
        self._record(spec.training_hash)
        return trained_embeddings(directory, epoch)

    def _record(self, training: str) -> None:
        """Name ``training`` in the feature space's ``systems.json``: no grid names it, but the feature space needs it
        (``asdbench prune`` keeps it while it keeps a table of that feature space)."""
        record = featurespaces.directory_of(self.spec, self.registry, self.store.root) / SYSTEMS
        known = read_json(record) if record.exists() else None
        trainings = sorted({*(known or {}).get("trainings", []), training})
        write_json_atomic(record, {"trainings": trainings})

