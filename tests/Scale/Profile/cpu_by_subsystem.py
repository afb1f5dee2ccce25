"""Where a process's CPU went, from a dotnet-trace speedscope file (profile dotnet-sampled-thread-time, ~100 Hz per
thread): by subsystem (exclusive: the innermost frame that names one; inclusive: any frame), by DeepDeploy grain method
and by frame. The sampler cannot tell running from blocked: a sample counts as CPU unless one of its last frames is a
wait (semaphore, sleep, poll, the thread pool's idle spin), so native time blocked in I/O (SQLite's fsync) counts as CPU.
Usage: python3 tests/Scale/Profile/cpu_by_subsystem.py trace.speedscope.json [top]  (docs/control-plane.md)"""
import json, sys, collections, re

WAIT = re.compile(r'LowLevelSpinWaiter|PortableThreadPool\+WorkerThread\.WorkerThreadStart\(|Socket\.Poll|PollGC|WaitForSignal|LowLevelLifoSemaphore|WaitHandle\.Wait|Monitor\.Wait|Thread\.Sleep|WaitOneCore|WaitNative|'
                  r'WaitForSocketEvents|SocketAsyncEngine\.EventLoop|ManualResetEventSlim\.Wait|SemaphoreSlim\.Wait|SpinThenBlockingWait|'
                  r'LowLevelMonitor\.Wait|WaitSubsystem|GateThreadStart|TimerQueue\.TimerThread|Monitor\.ObjectWait|Thread\.Join|'
                  r'WaitMultiple|WaitAny|WaitOne\(|Condition\.Wait|Interop\+Sys\.Poll|ReadFromTaskQueue|Channel.*WaitToRead|BlockingCollection.*Take|'
                  r'PollLoop|Interop\+Sys\.Read\b|ConsoleStream|Process.*WaitFor|WaitForCompletion|WaitAny|WaitAll|SignalAndWait')

CATS = [  # (category, frame pattern): the innermost matching frame decides the exclusive category
    ('logging', r'^Microsoft\.Extensions\.Logging|^Orleans\.Runtime\..*Log|Xunit.*TestOutputHelper|LoggerMessage'),
    ('storage (ADO.NET / SQLite)', r'^Orleans\.Storage|^Microsoft\.Data\.Sqlite|^SQLitePCL|e_sqlite3|^System\.Data|AdoNet|RelationalStorage|Orleans\.Reminders\.AdoNet|^DeepDeploy\.Silo\.Storage'),
    ('Orleans serialization / copying', r'^Orleans\.Serialization'),
    ('Orleans messaging / networking', r'^Orleans\.Runtime\.Messaging|^Orleans\.Networking|^Orleans\.Messaging|InsideRuntimeClient|OutsideRuntimeClient|MessageCenter|^Orleans\.Runtime\.Dispatcher|^Orleans\.Runtime\.GrainReferences|^Orleans\.Runtime\.Placement|^Orleans\.Runtime\.GrainDirectory|CallbackData|^Orleans\.Runtime\.Messaging|^System\.Net\.Sockets|^System\.IO\.Pipelines|^Microsoft\.AspNetCore\.Connections'),
    ('Orleans scheduling / activations / timers', r'^Orleans\.Runtime\.Scheduler|^Orleans\.Runtime\.ActivationData|^Orleans\.Runtime\.GrainTimer|^Orleans\.Timers|^Orleans\.Runtime\.Catalog|^Orleans\.Runtime\.ActivationCollector|^Orleans\.Runtime\.ReminderService|^Orleans\.'),
    ('simulation: agents / heartbeats / gateway subscribers / probe', r'^DeepDeploy\.Tests'),
    ('DeepDeploy grains and their helpers', r'^DeepDeploy\.'),
    ('.NET timers / thread pool / tasks', r'^System\.Threading|^System\.Runtime\.CompilerServices'),
]
CATS = [(n, re.compile(p)) for n, p in CATS]

def load(path):
    d = json.load(open(path))
    frames = [f['name'] for f in d['shared']['frames']]
    samples = []  # (stack tuple of frame names outer->inner, ms)
    for prof in d['profiles']:
        stack, last = [], None
        for e in prof['events']:
            if last is not None and stack and e['at'] > last:
                samples.append((tuple(stack), e['at'] - last))
            last = e['at']
            if e['type'] == 'O':
                stack.append(frames[e['frame']])
            else:
                stack.pop()
    return samples

def busy(stack):
    # CPU_TIME: managed code running; UNMANAGED_CODE_TIME: native code, running or waiting (decided by its caller)
    # (the sampler calls any managed frame CPU_TIME, so an idle pool thread in its semaphore's spin or wait is idle too)
    return not any(WAIT.search(f) or f == '?!?' for f in stack[-4:-1])

def sqlite_sleep(stack):
    return stack[-1] == 'UNMANAGED_CODE_TIME' and 'Thread.Sleep' in stack[-2] and any('Microsoft.Data.Sqlite' in f for f in stack[-4:])

def category(stack):
    for f in reversed(stack):
        f = f.split('!', 1)[-1]
        for name, pat in CATS:
            if pat.search(f):
                return name
    return 'other (runtime, GC, finalizer, unmanaged, JIT)'

def grain_method(stack):
    for f in reversed(stack):
        f = f.split('!', 1)[-1]
        if f.startswith('DeepDeploy.Grains.') and 'Telemetry' not in f:
            return re.sub(r'\+<(\w+)>d__\d+\.MoveNext', r'.\1', f.split('(')[0])
    return None

def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    samples = load(path)
    total = sum(ms for _, ms in samples)
    cpu = [(s, ms) for s, ms in samples if busy(s)]
    cpu_total = sum(ms for _, ms in cpu)
    sleep = sum(ms for s, ms in samples if sqlite_sleep(s))
    print(f'thread time {total/1000:.1f} s, on CPU {cpu_total/1000:.1f} s (the rest waits); '
          f'of the waits, sleeping in Microsoft.Data.Sqlite busy retries: {sleep/1000:.1f} s')
    excl = collections.Counter()
    incl = collections.Counter()
    for s, ms in cpu:
        excl[category(s)] += ms
        seen = set()
        for f in s:
            f = f.split('!', 1)[-1]
            for name, pat in CATS:
                if name not in seen and pat.search(f):
                    seen.add(name)
        for n in seen:
            incl[n] += ms
    print('\n| subsystem | exclusive % | inclusive % |\n|---|---|---|')
    for n, ms in excl.most_common():
        print(f'| {n} | {100*ms/cpu_total:.1f} | {100*incl[n]/cpu_total:.1f} |')
    # grain methods (inclusive: everything under the innermost DeepDeploy.Grains frame)
    gm = collections.Counter()
    for s, ms in cpu:
        g = grain_method(s)
        if g:
            gm[g] += ms
    print('\n| DeepDeploy.Grains method (inclusive) | % of CPU |\n|---|---|')
    for n, ms in gm.most_common(top):
        print(f'| {n} | {100*ms/cpu_total:.1f} |')
    fe = collections.Counter(); fi = collections.Counter()
    for s, ms in cpu:
        leafs = [f for f in s if 'CPU_TIME' not in f]
        fe[(leafs[-1] if leafs else s[-1]).split('(')[0]] += ms
        for f in set(x.split('(')[0] for x in s):
            fi[f] += ms
    print('\n| frame (exclusive) | % |\n|---|---|')
    for n, ms in fe.most_common(top):
        print(f'| {n[:150]} | {100*ms/cpu_total:.1f} |')
    print('\n| frame (inclusive) | % |\n|---|---|')
    for n, ms in fi.most_common(top * 2):
        print(f'| {n[:150]} | {100*ms/cpu_total:.1f} |')

main()
