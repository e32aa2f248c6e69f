"""The `scratchnet` command: the app with no arguments, or train / evaluate / gradcheck / datasets.

Exit codes: 0 success, 1 runtime failure (a diverged run, a failed download or save), 2 bad usage
or configuration, 128 + the signal's number when `train` was stopped by a signal: 130 Ctrl-C
(SIGINT), 143 SIGTERM, 129 SIGHUP (the terminal or SSH connection closed). Stopped by any of the
three, `train` stops cleanly, saves when --save was given and prints its summary; a failed save
exits 1 all the same. Messages go to stderr, results to stdout.
NumPy and the engine are imported inside the commands, so that `scratchnet --help` is instant (the
settings table, core.settings, imports neither).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import shutil
import signal
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from core.checks import ConfigError
from core.settings import SETTINGS, Setting

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: The signals that stop `train` cleanly; the exit code is 128 + the signal's number.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
EXIT_CODES_HELP = ("exit codes: 0 success; 1 runtime failure (a diverged run, a failed download or save); "
                   "2 bad usage or configuration; 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (train stops cleanly, "
                   "saves when --save was given and prints its summary)")


class CommandError(Exception):
    """A failure to report as a message (no traceback) with an exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------- arguments


def _argument_type(setting: Setting) -> Callable[[str], Any]:
    """The setting's parser as argparse wants it: a ConfigError becomes an ArgumentTypeError, which
    argparse prints after the flag ("argument --lr: 'abc' is not a number")."""
    def parse(text: str) -> Any:
        try:
            return setting.parse(text)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


#: (flags, TrainConfig field, type, metavar, help) for every field of TrainConfig, from core.settings.
CONFIG_FLAGS: tuple[tuple[tuple[str, ...], str, Callable[[str], Any], str, str], ...] = tuple(
    (setting.flags, setting.name, _argument_type(setting), setting.metavar, setting.help)
    for setting in SETTINGS.values()
)


#: The TrainConfig fields that `gradcheck` does not use (it checks one batch of the data on a
#: freshly initialised network): their flags are left out of its help and refused.
GRADCHECK_IGNORES = ("optimizer", "optimizer_params", "lr", "batch_size", "epochs", "steps", "gradient",
                     "sampling", "eval_every", "eval_samples")


def _add_config_flags(parser: argparse.ArgumentParser, hidden: tuple[str, ...] = ()) -> None:
    """A flag for every TrainConfig field; those of `hidden` fields are accepted but not in --help."""
    group = parser.add_argument_group("run settings (override --config; `scratchnet train --print-config` prints the defaults)")
    group.add_argument("--config", metavar="FILE", help="read settings from a TOML file")
    for flags, field, kind, metavar, help_text in CONFIG_FLAGS:
        action = "append" if field == "optimizer_params" else "store"
        group.add_argument(*flags, dest=field, type=kind, metavar=metavar,
                           help=argparse.SUPPRESS if field in hidden else help_text,
                           action=action, default=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scratchnet",
        description="Watch a from-scratch NumPy neural network learn. Without a command, opens the app.",
        epilog=EXIT_CODES_HELP,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    app = commands.add_parser("app", help="open the app on these settings, or on a saved run",
                              description="Open the app with its configuration filled in from the flags "
                                          "(or a TOML file), or on a saved run. `scratchnet` alone opens "
                                          "it on the defaults.")
    _add_config_flags(app)
    app.add_argument("--resume", metavar="CHECKPOINT",
                     help="open a saved run; space continues it (flags may change epochs, steps, lr, eval-every)")
    app.set_defaults(handler=cmd_app)

    train = commands.add_parser("train", help="train headless, with progress on stderr",
                                description="Train a network without the app.", epilog=EXIT_CODES_HELP)
    _add_config_flags(train)
    train.add_argument("--save", metavar="PATH",
                       help="write a checkpoint at the end (also when stopped by Ctrl-C, SIGTERM or SIGHUP)")
    train.add_argument("--resume", metavar="CHECKPOINT",
                       help="continue a saved run (flags may change epochs, steps, lr, eval-every)")
    train.add_argument("--metrics", metavar="FILE", help="write every evaluation to a CSV file")
    train.add_argument("--overwrite", action="store_true",
                       help="let --save and --metrics replace an existing file that is not one of ScratchNet's")
    train.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    train.add_argument("--print-config", action="store_true",
                       help="print the settings as TOML (as JSON with --json) and exit")
    train.set_defaults(handler=cmd_train)

    evaluate = commands.add_parser("evaluate", help="accuracy and confusion matrix of a checkpoint",
                                   description="Evaluate a checkpoint on its test set.")
    evaluate.add_argument("checkpoint", metavar="CHECKPOINT")
    evaluate.add_argument("--dataset", metavar="NAME", help="evaluate on another dataset of the same shape")
    evaluate.add_argument("--data-dir", metavar="DIR", help="where to find or download the dataset")
    evaluate.add_argument("--json", action="store_true", help="print the results as one JSON object")
    evaluate.set_defaults(handler=cmd_evaluate)

    gradcheck = commands.add_parser("gradcheck", help="check backprop against numerical gradients",
                                    description="Compare backprop's gradient with central differences "
                                                "(exit 1 if the verdict is 'wrong'). Training settings "
                                                "(optimizer, lr, batch size, epochs, ...) do not apply.")
    _add_config_flags(gradcheck, hidden=GRADCHECK_IGNORES)
    gradcheck.add_argument("--batch", type=int, default=5, metavar="N", help="rows in the checked batch (default 5)")
    gradcheck.add_argument("--sample", type=int, default=100, metavar="K",
                           help="entries checked per parameter (default 100; 0: all)")
    gradcheck.add_argument("--json", action="store_true", help="print the results as one JSON object")
    gradcheck.set_defaults(handler=cmd_gradcheck)

    datasets = commands.add_parser("datasets", help="list datasets, where they live and what is cached",
                                   description="List the datasets ScratchNet knows.")
    datasets.add_argument("--data-dir", metavar="DIR", help="also look for downloaded files here")
    datasets.add_argument("--json", action="store_true", help="print the list as JSON")
    datasets.set_defaults(handler=cmd_datasets)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["app"])
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`scratchnet evaluate run.npz | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush fails no more
        return EXIT_FAILURE
    except Exception as exc:
        code = _exit_code(exc)
        if code is None:
            raise
        print(f"scratchnet {args.command}: error: {exc}", file=sys.stderr)
        return code


def _exit_code(exc: Exception) -> int | None:
    """The exit code of an expected failure, None for a bug (whose traceback should show)."""
    if isinstance(exc, CommandError):
        return exc.code
    if isinstance(exc, MemoryError):
        return EXIT_FAILURE
    modules = sys.modules  # the engine's errors, if the engine was imported at all
    config, checkpoint, datasets, files = (modules.get(m) for m in ("core.config", "core.checkpoint", "core.datasets", "core.files"))
    if (config and isinstance(exc, config.ConfigError)) or (checkpoint and isinstance(exc, checkpoint.CheckpointError)) \
            or (files and isinstance(exc, files.PathError)):
        return EXIT_USAGE
    if datasets and isinstance(exc, datasets.DatasetError):
        return EXIT_FAILURE
    return None


def cmd_app(args: argparse.Namespace) -> int:
    """The app on the flags' settings or a checkpoint, both checked first: a mistake is reported here,
    as by `train`, before the screen is taken over. Returns the app's exit code: 0 when quit, 1 after
    an unhandled error, 128 + N after signal N (see tui.safety)."""
    from tui import safety
    from tui.app import ScratchNetApp

    ckpt, config = _settings(args)
    if not safety.has_terminal():
        raise CommandError("the app needs a terminal on its input and output; to train without one, "
                           "use `scratchnet train` (same flags)", EXIT_USAGE)
    app = ScratchNetApp(config, resume=args.resume)
    app.run()
    if app.farewell:  # why it ended (a signal, an error), and where the run and the traceback went
        with contextlib.suppress(OSError):  # after a hang-up there is no terminal to say it on
            print(app.farewell, file=sys.stderr, flush=True)
    return app.return_code or EXIT_OK


# ---------------------------------------------------------------------- shared helpers


def _config_from_args(args: argparse.Namespace, base=None):
    """The TrainConfig: `base` (or --config's file, or the defaults) with the flags given applied."""
    from core.config import TrainConfig

    if base is None:
        base = TrainConfig.from_toml(args.config) if args.config else TrainConfig()
    changes = {field: getattr(args, field) for _, field, *_ in CONFIG_FLAGS if hasattr(args, field)}
    if "optimizer_params" in changes:
        changes["optimizer_params"] = {**dict(base.optimizer_params), **dict(changes["optimizer_params"])}
    return base.replace(**changes)


def _settings(args: argparse.Namespace):
    """The checkpoint to resume (None for a fresh run) and the run's config, from the flags; all of
    it checked, the network's memory included, before any data is loaded or the screen taken over."""
    from core.checkpoint import load_checkpoint
    from core.config import check_memory

    if args.resume and args.config:
        raise CommandError("--config cannot be combined with --resume (the checkpoint has the settings)", EXIT_USAGE)
    ckpt = load_checkpoint(args.resume) if args.resume else None
    config = _resume_config(args, ckpt) if ckpt else _config_from_args(args)
    check_memory(config)
    return ckpt, config


def _resume_config(args: argparse.Namespace, ckpt):
    """The config to continue checkpoint `ckpt` with: its own, with the flags given applied.

    A new target wins: --epochs without --steps drops a saved steps target. A target at or below the
    step the run is at, and a change to a field a resumed run cannot change, raise ConfigError.
    """
    from core.config import ConfigError
    from core.training import check_resumable

    config = _config_from_args(args, base=ckpt.config)
    if hasattr(args, "epochs") and not hasattr(args, "steps"):
        config = config.replace(steps=None)
    check_resumable(ckpt.config, config)
    if not (hasattr(args, "epochs") or hasattr(args, "steps")):
        return config
    target, per_epoch = config.total_steps(ckpt.n_train), config.steps_per_epoch(ckpt.n_train)
    if target <= ckpt.step:
        asked = f"--steps {target}" if config.steps is not None else \
            f"--epochs {config.epochs} ({target} steps at {per_epoch} per epoch)"
        raise ConfigError(
            f"invalid target when resuming: {asked} is not past where the run stands: the run is at "
            f"step {ckpt.step} of {ckpt.config.total_steps(ckpt.n_train)}; expected --steps above "
            f"{ckpt.step} or --epochs above {ckpt.step // per_epoch}")
    return config


class Status:
    """One status line on stderr: rewritten in place on a terminal, else an occasional plain line."""

    def __init__(self, stream=None, interval: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval  # seconds between plain lines
        self.width = 0
        self.last_time = -math.inf
        self.last_text = ""

    def show(self, text: str, important: bool = False) -> None:
        """Show `text`; off a terminal only if it is new and `important`, or `interval` seconds have passed."""
        now = time.monotonic()
        if self.tty:
            self._write("\r" + text.ljust(self.width))
            self.width = len(text)
        elif text != self.last_text and (important or now - self.last_time >= self.interval):
            self._write(text + "\n")
            self.last_time, self.last_text = now, text

    def done(self) -> None:
        if self.tty and self.width:
            self._write("\n")
        self.width = 0

    def _write(self, text: str) -> None:
        """Write and flush; a terminal that has gone away (SIGHUP: the SSH connection dropped) must
        not keep a stopping run from being saved, so a failed write is dropped."""
        with contextlib.suppress(OSError):
            self.stream.write(text)
            self.stream.flush()


def _load_data(config):
    """The config's dataset, with download progress on stderr."""
    from core.training import load_data

    status = Status()

    def progress(done: int, total: int) -> None:
        size = f"{done / 1e6:.1f} / {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
        status.show(f"downloading {config.dataset}: {size}", important=done == total)

    dataset = load_data(config, progress=progress)
    status.done()
    return dataset


def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    if seconds < 60:
        return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _percent(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{100 * x:.2f}%"


def _number(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def _plain(value: Any) -> Any:
    """value with NaN and infinities as None, so that json.dumps writes valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _print_json(data: dict[str, Any]) -> None:
    print(json.dumps(_plain(data), allow_nan=False))


# ---------------------------------------------------------------------- train


def cmd_train(args: argparse.Namespace) -> int:
    from core.training import TrainingSession

    ckpt, config = _settings(args)
    if args.print_config:
        if args.json:
            _print_json(config.to_dict())
        else:
            print(config.toml(), end="")
        return EXIT_OK
    outputs = _check_outputs(args)  # a bad path is reported now, not after the run
    dataset = _load_data(config)
    if ckpt:
        session = TrainingSession.from_checkpoint(ckpt, dataset, config)
    else:
        session = TrainingSession(config, dataset)

    # Ctrl-C, SIGTERM or SIGHUP stops the run; any of them again while the run stops or its files
    # are written is ignored: it must not lose the checkpoint
    ctrl_c = CtrlC()
    with _catching_ctrl_c(ctrl_c):
        _train_with_progress(session, ctrl_c)
        final = session.snapshot()
        failures = _write_outputs(outputs, session, final)
    saved = args.save if "checkpoint" in outputs and "checkpoint" not in failures else None
    if saved:
        print(f"checkpoint saved to {saved}", file=sys.stderr)
    if "metrics file" in outputs and "metrics file" not in failures:
        print(f"metrics written to {args.metrics}", file=sys.stderr)
    summary = _summary(final, session, saved)
    if args.json:
        _print_json(summary)
    else:
        _print_summary(summary)
    for message in failures.values():
        print(f"scratchnet train: error: {message}", file=sys.stderr)
    if final.state in ("diverged", "error"):
        print(f"scratchnet train: {final.message}", file=sys.stderr)
        return EXIT_FAILURE
    if failures:
        return EXIT_FAILURE
    return 128 + ctrl_c.signum if ctrl_c.pressed else EXIT_OK


def _check_outputs(args: argparse.Namespace) -> dict[str, Path]:
    """The files `train` will write, {what: path}, checked before any work starts: PathError (exit 2)
    for two outputs naming one file, a path that cannot be written, or an existing file that is not
    ScratchNet's (unless --overwrite). The checkpoint being resumed may be the --save target."""
    from core.checkpoint import is_checkpoint
    from core.files import PathError, check_distinct, check_output, expand
    from core.metrics import is_metrics_file

    named = [(what, text, is_ours) for what, text, is_ours in (
        ("checkpoint", args.save, is_checkpoint), ("metrics file", args.metrics, is_metrics_file)) if text is not None]
    check_distinct({what: expand(text, what) for what, text, _ in named})
    outputs = {}
    for what, text, is_ours in named:
        try:
            outputs[what] = check_output(text, what, is_ours=is_ours, overwrite=args.overwrite)
        except PathError as exc:
            if not exc.overwritable:
                raise
            raise PathError(f"{exc}; pass --overwrite to replace it") from None
    return outputs


def _write_outputs(outputs: dict[str, Path], session, final) -> dict[str, str]:
    """Save the checkpoint and write the metrics of the `final` snapshot, each whether or not the
    other could be written (a full disk, a folder removed during the run). Returns {what: message}
    for each that failed; prints nothing (the terminal may be gone: SIGHUP)."""
    from core.checkpoint import CheckpointError
    from core.metrics import write_metrics_csv

    failures = {}
    if "checkpoint" in outputs:
        try:
            session.save_checkpoint(outputs["checkpoint"])
        except CheckpointError as exc:
            failures["checkpoint"] = str(exc)
    if "metrics file" in outputs:
        try:
            write_metrics_csv(outputs["metrics file"], final.evaluations)
        except OSError as exc:
            failures["metrics file"] = f"cannot write metrics to {outputs['metrics file']}: {exc.strerror or exc}"
    return failures


def _train_with_progress(session, ctrl_c: CtrlC) -> None:
    """Run the session in a worker thread, showing progress, until it ends or a stop signal comes."""
    status = Status()
    worker = threading.Thread(target=session.run, name="scratchnet-trainer", daemon=True)
    session.start()
    worker.start()
    seen_evaluations = 0
    while worker.is_alive():
        worker.join(0.2)
        if ctrl_c.pressed and session.snapshot().state not in ("stopped", "finished"):
            session.stop()
            status.show(f"stopping ({signal.Signals(ctrl_c.signum).name})...", important=True)
        snap = session.snapshot()
        status.show(_progress_line(snap), important=len(snap.evaluations) > seen_evaluations)
        seen_evaluations = len(snap.evaluations)
    status.show(_progress_line(session.snapshot()), important=True)
    status.done()


@dataclasses.dataclass
class CtrlC:
    """Whether Ctrl-C has been pressed, or SIGTERM or SIGHUP received (both stop `train` as Ctrl-C
    does), and which came first. A plain attribute: the signal handler that sets it runs between any
    two bytecodes of the main thread, so it must not take a lock (a threading.Event would deadlock if
    a second signal came while the first was setting it)."""

    signum: int | None = None

    @property
    def pressed(self) -> bool:
        return self.signum is not None


@contextlib.contextmanager
def _catching_ctrl_c(ctrl_c: CtrlC) -> Iterator[None]:
    """While inside, Ctrl-C (SIGINT), SIGTERM and SIGHUP (STOP_SIGNALS) set `ctrl_c.signum` instead
    of raising KeyboardInterrupt or ending the process at a random point (which could be inside the
    session's lock, or before the checkpoint is saved). Once one has come, the program is on its way
    out: from then on all three are ignored, so that a user pressing Ctrl-C again and again cannot
    break the exit (Python's own handler would raise in the middle of it, and while the interpreter
    shuts down the signal would kill the process). Only in the main thread, and not for a signal
    that is ignored (as `nohup` ignores SIGHUP)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def received(signum, frame) -> None:
        if ctrl_c.signum is None:
            ctrl_c.signum = signum

    caught = [signum for signum in STOP_SIGNALS if signal.getsignal(signum) is not signal.SIG_IGN]
    previous = {signum: signal.signal(signum, received) for signum in caught}
    try:
        yield
    finally:
        for signum in caught:
            signal.signal(signum, signal.SIG_IGN if ctrl_c.pressed else previous[signum])


def _progress_line(snap) -> str:
    epochs = math.ceil(snap.total_steps / snap.steps_per_epoch)
    rate = f"{snap.steps_per_second:.0f} steps/s" if snap.steps_per_second else "- steps/s"
    return (
        f"step {snap.step}/{snap.total_steps}  epoch {min(snap.epoch + 1, epochs)}/{epochs}  "
        f"loss {_number(snap.loss)}  train {_percent(snap.train_accuracy)}  test {_percent(snap.test_accuracy)}  "
        f"{rate}  ETA {_duration(snap.eta) if snap.state == 'training' else '-'}"
    )


def _summary(snap, session, saved: str | None) -> dict[str, Any]:
    return {
        "state": snap.state,
        "message": snap.message,
        "dataset": session.dataset.name,
        "layers": list(session.network.sizes),
        "steps": snap.step,
        "epochs": snap.step / snap.steps_per_epoch,
        "seconds": snap.elapsed,
        "steps_per_second": snap.step / snap.elapsed if snap.elapsed > 0 else None,
        "learning_rate": snap.learning_rate,
        "last_batch_loss": snap.loss,
        "train_loss": snap.train_loss,
        "train_accuracy": snap.train_accuracy,
        "test_loss": snap.test_loss,
        "test_accuracy": snap.test_accuracy,
        "train_rows_evaluated": min(session.config.eval_samples, session.dataset.n_train),
        "checkpoint": saved,
        "config": session.config.to_dict(),
    }


def _print_summary(summary: dict[str, Any]) -> None:
    rate = summary["steps_per_second"]
    print(f"{summary['state']}: {summary['steps']} steps ({summary['epochs']:.2f} epochs) of "
          f"{'-'.join(map(str, summary['layers']))} on {summary['dataset']} in {_duration(summary['seconds'])}"
          + (f", {rate:.0f} steps/s" if rate else ""))
    print(f"  train loss {_number(summary['train_loss'])}  accuracy {_percent(summary['train_accuracy'])}"
          f"  (on {summary['train_rows_evaluated']} training rows)")
    print(f"  test  loss {_number(summary['test_loss'])}  accuracy {_percent(summary['test_accuracy'])}")


# ---------------------------------------------------------------------- evaluate


def cmd_evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from core.checkpoint import load_checkpoint
    from core.metrics import confusion_matrix, evaluate, per_class_accuracy, predict_labels
    from core.training import build_network

    ckpt = load_checkpoint(args.checkpoint)
    # a checkpoint is data, not instructions: the folder it names is not searched or downloaded into
    changes = {"dataset": args.dataset} if args.dataset is not None else {}
    config = ckpt.config.replace(data_dir=args.data_dir, **changes)
    dataset = _load_data(config)
    net = build_network(config, dataset)
    try:
        net.set_params(ckpt.weights)
    except ValueError:
        shape = f"{ckpt.weights['W1'].shape[0]} inputs and {ckpt.weights[f'b{net.depth}'].shape[0]} outputs"
        raise CommandError(
            f"the checkpoint's network has {shape}; {dataset.name} has {dataset.n_features} features "
            f"and {dataset.n_classes} classes", EXIT_USAGE) from None
    x = dataset.x_test.astype(net.dtype, copy=False)
    with np.errstate(all="ignore"):  # a network whose outputs overflow shows it as a loss of nan or inf
        loss, accuracy = evaluate(net, x, dataset.t_test)
        confusion = confusion_matrix(dataset.t_test, predict_labels(net, x), dataset.n_classes)
    per_class = per_class_accuracy(confusion)
    results = {
        "checkpoint": args.checkpoint,
        "dataset": dataset.name,
        "layers": list(net.sizes),
        "step": ckpt.step,
        "rows": int(len(x)),
        "loss": loss,
        "accuracy": accuracy,
        "classes": [{"name": name, "rows": int(confusion[i].sum()), "accuracy": float(per_class[i])}
                    for i, name in enumerate(dataset.class_names)],
        "confusion_matrix": confusion.tolist(),
    }
    if args.json:
        _print_json(results)
        return EXIT_OK
    print(f"{args.checkpoint}: {'-'.join(map(str, net.sizes))} network after {ckpt.step} steps")
    print(f"{dataset.name} test set, {len(x)} rows: loss {_number(loss)}, accuracy {_percent(accuracy)}\n")
    labels = [str(i) if name == str(i) else f"{i} {name}" for i, name in enumerate(dataset.class_names)]
    name_width = max(len("class"), *map(len, labels))
    print(f"{'class'.ljust(name_width)}  {'rows':>6}  {'accuracy':>8}")
    for label, row in zip(labels, results["classes"]):
        print(f"{label.ljust(name_width)}  {row['rows']:>6}  {_percent(row['accuracy']):>8}")
    print("\nconfusion matrix (rows: true class, columns: predicted class)")
    width = max(len(str(confusion.max())), len(str(dataset.n_classes - 1))) + 1
    print(" " * 4 + "".join(f"{j:>{width}}" for j in range(dataset.n_classes)))
    for i, counts in enumerate(np.asarray(confusion)):
        print(f"{i:>3} " + "".join(f"{c:>{width}}" for c in counts))
    return EXIT_OK


# ---------------------------------------------------------------------- gradcheck


def cmd_gradcheck(args: argparse.Namespace) -> int:
    import numpy as np

    from core.gradcheck import gradient_check
    from core.training import build_network

    if args.batch < 1 or args.sample < 0:
        raise CommandError("--batch must be at least 1 and --sample at least 0", EXIT_USAGE)
    ignored = [flags[0] for flags, field, *_ in CONFIG_FLAGS if field in GRADCHECK_IGNORES and hasattr(args, field)]
    if ignored:
        raise CommandError(f"gradcheck does not use {', '.join(ignored)}: it checks one batch (--batch) on a "
                           f"freshly initialised network, without training", EXIT_USAGE)
    config = _config_from_args(args)
    dataset = _load_data(config)
    if args.batch > dataset.n_train:
        raise CommandError(f"--batch {args.batch} is more than the {dataset.n_train} training rows", EXIT_USAGE)
    net = build_network(config, dataset)
    rows = np.random.default_rng(config.seed).choice(dataset.n_train, args.batch, replace=False)
    result = gradient_check(net, dataset.x_train[rows], dataset.t_train[rows],
                            sample=args.sample or None, seed=config.seed)
    if args.json:
        _print_json({
            "verdict": result.verdict,
            "h": result.h,
            "batch_size": result.batch_size,
            "rows": [{"parameter": r.name, "shape": list(r.shape), "checked": r.checked,
                      "max_abs_diff": r.max_abs_diff, "max_rel_error": r.max_rel_error,
                      "kinks": r.kinks, "verdict": r.verdict} for r in result.rows],
            "notes": list(result.notes),
        })
    else:
        print(f"gradient check of {'-'.join(map(str, net.sizes))} ({config.activation}) on {args.batch} rows "
              f"of {dataset.name}, h={result.h:g}\n")
        table = [("parameter", "shape", "checked", "max abs diff", "max rel error", "kinks", "verdict")]
        table += [(r.name, "x".join(map(str, r.shape)), str(r.checked), f"{r.max_abs_diff:.2e}",
                   f"{r.max_rel_error:.2e}", str(r.kinks), r.verdict) for r in result.rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            print("  ".join(cell.rjust(w) if i and i < 6 else cell.ljust(w)
                            for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
        print()
        width = min(max(shutil.get_terminal_size().columns, 40), 100)
        for note in result.notes:
            print(textwrap.fill(note, width=width, initial_indent="* ", subsequent_indent="  "))
        print(f"\nverdict: {result.verdict}")
    return EXIT_FAILURE if result.verdict == "wrong" else EXIT_OK


# ---------------------------------------------------------------------- datasets


def cmd_datasets(args: argparse.Namespace) -> int:
    from core.datasets import DATASETS, dataset_status

    statuses = dataset_status(args.data_dir)
    if args.json:
        _print_json({"datasets": [{
            "name": s.name, "kind": s.kind, "available": s.available, "location": s.location,
            "note": s.note, "description": DATASETS[s.name].description,
        } for s in statuses]})
        return EXIT_OK
    width = max(len(s.name) for s in statuses)
    for s in statuses:
        state = "available" if s.available else "not downloaded"
        print(f"{s.name.ljust(width)}  {s.kind:<5}  {state:<14}  {s.location} ({s.note})")
        print(" " * (width + 2) + DATASETS[s.name].description)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
