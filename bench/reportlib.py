"""What the REST benchmarks' reports (api_report.py, scale_report.py) print alike: the run's
header lines (date, machine, IronPKI build), the CPU and error cells, ratios and verdicts."""
import datetime
import os
import subprocess


def run(*cmd):
    """The first line a command prints, or "?"."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
    except OSError:
        return "?"
    text = (r.stdout + r.stderr).strip()
    return text.splitlines()[0] if text else "?"


def header(ironpki):
    """The date, machine and IronPKI lines of a report."""
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    head = run("git", "-C", root, "rev-parse", "--short", "HEAD")
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    if os.path.exists(ironpki):
        built = datetime.datetime.fromtimestamp(os.path.getmtime(ironpki), datetime.timezone.utc)
        iron = f"{run(ironpki, '--version')}, binary built {built:%Y-%m-%d %H:%M UTC}, "
    else:
        iron = "no binary, "
    return [
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"- machine: {len(os.sched_getaffinity(0))} cores (nproc), {cpu}, {mem / 2**20:.0f} GiB",
        f"- IronPKI: {iron}tree at {head}{' with uncommitted changes' if dirty else ''}",
    ]


def postgres_version():
    pg = run("psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version")
    return pg.split()[0] if pg != "?" else "?"


def other_cores(m):
    """Cores used meanwhile by everything but the server, its PostgreSQL backends and wrk."""
    return max(0.0, m["machine_cpu_s"] - m["server_cpu_s"] - m["wrk_cpu_s"] - m["postgres_cpu_s"]) / m["machine_wall_s"]


def other(m):
    """Other processes' cores: above 0.2 the figures are skewed, in bold."""
    return f"**{m['other']:.2f}**" if m["other"] > 0.2 else f"{m['other']:.2f}"


def errors(m):
    w = m["wrk"]
    parts = [f"{n:,} × {s}" for s, n in sorted(w["statuses"].items()) if not 200 <= int(s) <= 299]
    parts += [f"{n:,} {kind}" for kind, n in w["socket_errors"].items() if n]
    return f"**{m['errors']:,}**: " + ", ".join(parts) if m["errors"] else "0"


def ratio(r):
    return f"{r:.{3 if r < 0.1 else 2 if r < 10 else 1}f}x"


def verdict(ok):
    return "met" if ok else "**missed**"
