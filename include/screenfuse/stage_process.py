"""A large batch's stages run each in a process of its own (forked), as Airflow runs each task.

In the one process of `screenfuse run`, what a stage allocated stays partly held after it ends
(Python's and Arrow's heaps give back only whole free areas): in a first load of 1,000,000 records
the fuse stage peaked about 0.4 GB higher after ingest and resolve than on its own. A child process
gives everything back when it exits. A fork costs milliseconds, but an hour with few files runs
in the process: its stages hold little, and every second of such an hour counts.
"""
from __future__ import annotations

import ctypes
import functools
import gc
import os
import pickle
import signal
import traceback
from multiprocessing import get_context
from multiprocessing.connection import wait

VARIABLE = "SCREENFUSE_STAGE_PROCESS_MB"
DEFAULT_MB = 64.0  # files of about 200,000 mass-screening rows; an hour of 10,000 records is about 3 MB


_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}
# a forked process makes millions of containers that die young or never join a cycle (a row's
# values, a list of ids): at Python's thresholds (700, 10, 10) its collector walked them again and
# again, 2.3 s of a 1,000,000-record ingest (2026-12-07). Cycles are still collected, less often
FORKED_GC_THRESHOLDS = (100_000, 50, 50)


class StageKilled(RuntimeError):
    """A stage's child process ended without an answer (killed, e.g. out of memory)."""


class StageTraceback(Exception):
    """Where a stage run in a child process failed (the child's traceback, as text)."""


def threshold_bytes() -> float:
    """From what size of a batch's files its stages run in child processes
    (SCREENFUSE_STAGE_PROCESS_MB, default 64; 0: every batch)."""
    from screenfuse.config import number_from_env

    return number_from_env(VARIABLE, DEFAULT_MB, "megabytes") * 2**20


def call(isolated: bool, engine, stage, *args, **kwargs):
    """`stage(*args, **kwargs)`, in a forked child when `isolated`; its result or its error as if
    run here. The parent's pooled connections to `engine` are closed first (a connection must not
    be shared across a fork: the child opens its own), and the child closes its own before it ends
    (on SQLite the last close folds the write-ahead log into the database; left open, the next
    connection pays for it). The child and its own workers are a process group: when the parent
    is interrupted, or the child dies, the group is killed, so no stage goes on unwatched (its
    transaction is then rolled back)."""
    return call_together(isolated, engine, [(stage, args, kwargs)])[0]


def call_together(isolated: bool, engine, calls: list[tuple]) -> list:
    """Each `(stage, args, kwargs)` of `calls`, side by side in forked children when `isolated` (as
    Airflow runs tasks that do not wait on each other), else here in turn; their results in order.
    When one fails or is killed, the others are killed (their transactions roll back) and its error
    is raised, the first of `calls` to fail if several did."""
    if not isolated:
        results = []
        for number, (stage, args, kwargs) in enumerate(calls):
            if number:
                release_memory()  # as before each stage: the last one's frames are gone
            results.append(stage(*args, **kwargs))
        return results
    engine.dispose()
    context = get_context("fork")
    children: list[tuple] = []  # (stage, child, receive)
    sends: list = []  # this process's ends of the children's pipes: closed once each child has its own
    # Ctrl+C or a stop held back while the children start. Blocking covers only this thread: a
    # thread a library started (OpenBLAS, Arrow) can still take the signal, and Python then raises
    # it here at any point; so whatever is raised once a child exists kills the children first
    # (left running, the interpreter's exit would wait for them)
    interrupts = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
    try:
        for stage, args, kwargs in calls:
            _fork(context, engine, stage, args, kwargs, sends, children)
        signal.pthread_sigmask(signal.SIG_SETMASK, interrupts)  # one held back is raised here
        answers = _answers(children)
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, interrupts)
        _kill_all(children)
        raise
    finally:  # every pipe end closed before any wait: an interrupt during a join leaves none open
        for end in [*sends, *(receive for _, _, receive in children)]:
            end.close()
        for _, child, _ in children:
            if child.pid is not None:
                child.join()
    for (stage, child, _), answer in zip(children, answers):
        _raise_failure(stage, child, answer)
    return [value for _, value, _ in answers]


def _fork(context, engine, stage, args, kwargs, sends: list, children: list) -> None:
    """Start `stage` in a forked child leading a process group of its own; (stage, child, receiving
    end) goes into `children` before it starts (whatever is raised from then on finds it to kill),
    its sending end into `sends` (the caller closes them once forked)."""
    receive, send = context.Pipe(duplex=False)
    sends.append(send)
    child = context.Process(target=_in_child, args=(send, os.getpid(), engine, stage, args, kwargs),
                            name=f"screenfuse {stage.__name__}")
    children.append((stage, child, receive))
    child.start()
    try:
        os.setpgid(child.pid, child.pid)  # as the child does: whichever runs first, the group exists
    except OSError:  # the child has ended, or set it already
        pass
    send.close()


def _raise_failure(stage, child, answer) -> None:
    """Raise the error a child's answer carries, or StageKilled for a child that gave none."""
    if answer is _STOPPED:
        return
    if answer is None:
        raise StageKilled(f"the stage {stage.__name__} ended without an answer: its process was killed (exit "
                          f"code {child.exitcode}; out of memory?); the batch is not published, run it again")
    done, value, where = answer
    if not done:
        raise value from StageTraceback(where)


class Beside:
    """A stage started now in a forked child that goes on beside the stages run after it (the
    publish of `screenfuse run` on PostgreSQL: `publish_ahead`). It gets the reading end of a pipe
    as `told=`, and this process `tell`s it how far the run has come; `result()` waits for its
    answer as `call` does. `stop()` kills it if it is still running: its transaction rolls back."""

    def __init__(self, engine, stage, *args, **kwargs):
        engine.dispose()
        context = get_context("fork")
        listen, self._tell = context.Pipe(duplex=False)
        self._children: list = []  # (stage, child, receiving end): one
        self._answer: tuple | None = None  # (the child's answer,) once taken
        sends: list = []
        told = self._tell

        @functools.wraps(stage)
        def listening(*args, **kwargs):
            told.close()  # the run's end is then the only one: its close, or its death, ends a wait
            return stage(*args, **kwargs)

        interrupts = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
        try:
            _fork(context, engine, listening, args, {**kwargs, "told": listen}, sends, self._children)
            signal.pthread_sigmask(signal.SIG_SETMASK, interrupts)  # one held back is raised here
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, interrupts)
            self.stop()
            raise
        finally:
            listen.close()
            for end in sends:
                end.close()

    def tell(self, message) -> None:
        """Tell the child how far the run has come. A child that has ended (killed, failed) raises
        its error here: the run stops now, not after the stages still to come."""
        try:
            self._tell.send(message)
        except OSError:  # no reader left: it has ended
            self.result()
            raise StageKilled(f"the stage {self._children[0][0].__name__} ended before it was told {message!r}") from None

    def result(self):
        if self._answer is None:
            try:
                self._answer = (_answers(self._children)[0],)
            finally:
                self.stop()
        stage, child, _ = self._children[0]
        _raise_failure(stage, child, self._answer[0])
        return self._answer[0][1]

    def stop(self) -> None:
        for _, child, receive in self._children:
            if child.pid is not None:  # started
                if child.exitcode is None:
                    _kill_group(child.pid)
                child.join()
            receive.close()
        self._tell.close()


def _answers(children: list[tuple]) -> list:
    """Each child's answer (None: it ended without one), waited for until all have answered or one
    failed; then the ones still running are killed. A child's end is asked of the process itself:
    workers it forked hold its pipe and sentinel open after it died."""
    answers: list = [None] * len(children)
    waiting = set(range(len(children)))
    while waiting:
        wait([children[i][2] for i in waiting], timeout=0.5)
        for i in sorted(waiting):
            _, child, receive = children[i]
            if receive.poll() or not child.is_alive():
                try:
                    answers[i] = receive.recv() if receive.poll() else None
                except EOFError:  # the pipe closed with nothing in it
                    answers[i] = None
                waiting.discard(i)
                if answers[i] is None:  # killed: so are the workers it forked, which outlive it else
                    child.join(5)
                    _kill_group(child.pid, alone_too=child.exitcode is None)
                if answers[i] is None or not answers[i][0]:  # a failure: the others' work is void
                    _kill_all([children[j] for j in waiting])
                    for j in waiting:
                        answers[j] = _STOPPED
                    return answers
    return answers


_STOPPED = (True, None, "")  # the answer of a child killed here because another failed (never returned)


def _kill_all(children: list[tuple]) -> None:
    for _, child, _ in children:
        if child.pid is not None:  # started (raised before that, the child dies with this process)
            _kill_group(child.pid, alone_too=child.exitcode is None)


def _kill_group(pid: int, alone_too: bool = True) -> None:
    """SIGKILL to the process group `pid` leads; else (no group) to the process alone, unless
    `alone_too` is False: a child already reaped, whose pid may be another process's by now (a
    group's id is not given out again while a member of it lives)."""
    for kill in (os.killpg, os.kill) if alone_too else (os.killpg,):
        try:
            kill(pid, signal.SIGKILL)
            return
        except (ProcessLookupError, PermissionError):
            continue


def _in_child(send, parent: int, engine, stage, args, kwargs) -> None:
    """Run the stage and send back (True, result, "") or (False, error, traceback text). An error
    the parent could not rebuild (an exception whose arguments are not its message) goes back as a
    RuntimeError with the same text. The child leads a process group of its own (with the workers
    it forks) and dies with its parent."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)  # the parent held them back while it forked
    os.setpgid(0, 0)
    forked_start(parent)  # not Linux: the parent's interrupt handler still kills the group
    try:
        answer = (True, stage(*args, **kwargs), "")
    except BaseException as exc:  # noqa: BLE001 - every ending goes back to the parent, even an interrupt
        answer = (False, exc, traceback.format_exc())
        if not _travels(exc):
            answer = (False, RuntimeError(f"{type(exc).__name__}: {exc}"), answer[2])
    finally:
        engine.dispose()
    try:
        send.send(answer)
    except Exception as exc:  # noqa: BLE001 - an answer that cannot travel is an error, not a silent child
        send.send((False, RuntimeError(f"the stage {stage.__name__} finished but its answer could not be sent back "
                                       f"({type(exc).__name__})"), ""))
    send.close()


def forked_start(parent: int) -> None:
    """What a forked process (a stage's child, a worker, a writer) does first: die with `parent`,
    leave what it inherited out of the collector's passes (and its pages unwritten), and collect
    its own objects less often (FORKED_GC_THRESHOLDS)."""
    die_with_parent(parent)
    gc.freeze()
    gc.set_threshold(*FORKED_GC_THRESHOLDS)


def die_with_parent(parent: int) -> None:
    """In a forked process: be killed when the process that forked it (`parent`, its pid) dies, as
    a stage's child and the workers it forks are. A process killed from outside (SIGKILL, the
    out-of-memory killer) cannot stop what it forked; without this, its children would go on
    unwatched, holding memory or a transaction. Linux only; elsewhere nothing is done."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _travels(exc: BaseException) -> bool:
    """Whether the parent rebuilds `exc` as it is: same type, same text (an exception whose
    arguments are not its message is rebuilt wrong, or not at all)."""
    try:
        rebuilt = pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any failure to carry it
        return False
    return type(rebuilt) is type(exc) and str(rebuilt) == str(exc)


def release_memory() -> None:
    """Free memory back to the system: Arrow's pool (pandas' strings) and, on glibc, the C heap."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: its allocator returns memory its own way
        pass
