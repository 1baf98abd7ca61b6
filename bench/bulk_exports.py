"""Does an export keep its memory flat from 10,000 to 1,000,000 orders?

Exports every order of a generated dataset the way the agent builds a big export (core.exports:
export_job_build, as a customer-service user, all columns), in XLSX and in CSV, each in a fresh
process on MariaDB, and reads that process's peak resident memory (ru_maxrss). The baseline is the
same export of 10,000 orders in the same run; the figure is peak RSS at 1,000,000 ÷ at 10,000
(target <= 1.2). Rows per second are printed too.

The datasets (100 customers / 10,000 orders, 10,000 / 1,000,000; --quick: 2,000 / 200,000 as the big
one) are made with bench/admin_changelist.py's bulk loader (LOAD DATA LOCAL INFILE into the real
schema) in databases of their own, and reused across runs.

    python bench/bulk_exports.py [--quick] [--json PATH] [--regenerate] [--formats xlsx,csv]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER_URL = os.environ.get("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306")
DATABASE = os.environ.get("BENCH_DATABASE", "bench_exports")
FULL = {"small": (100, 10_000), "big": (10_000, 1_000_000)}
QUICK = {"small": (100, 10_000), "big": (2_000, 200_000)}
TARGET_RATIO = 1.2
BENCH_USER = "bench-service"  # admin_changelist.bench_user's customer-service login


def child(file_format: str) -> None:
    """In a fresh process on DATABASE_URL: build one export of every order; print rows, seconds, peak RSS."""
    import resource

    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from core.exports import export_job_build
    from core.models import ExportJob

    user = get_user_model().objects.get(username=BENCH_USER)
    job = ExportJob.objects.create(
        requested_by=user, model="orders.order", file_format=file_format, language="zh-hans",
        file_name=f"bench.{file_format}", status=ExportJob.Status.RUNNING,
    )
    started = time.perf_counter()
    job = export_job_build(job)
    seconds = time.perf_counter() - started
    if job.status != ExportJob.Status.READY:
        raise SystemExit(f"export failed: {job.error}")
    size = job.file.size
    job.file.delete(save=False)
    job.delete()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": job.rows, "seconds": seconds, "peak_kib": peak_kib, "bytes": size}))


def export_measure(database: str, file_format: str, export_root: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": f"{SERVER_URL}/{database}",
        "EXPORT_ROOT": export_root,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "EMBEDDED_DEMO": "1",
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, __file__, "--child", file_format], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"export of {database} as {file_format} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="scaled down: 10,000 vs 200,000 orders")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the datasets even if present")
    parser.add_argument("--formats", default="xlsx,csv")
    parser.add_argument("--child", metavar="FORMAT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)

    sys.path.insert(0, str(ROOT / "bench"))
    os.environ["BENCH_DATABASE"] = DATABASE
    import admin_changelist as generated  # sets Django up on MariaDB, without Redis

    sizes = QUICK if args.quick else FULL
    databases = {kind: f"{DATABASE}_{orders // 1000}k" for kind, (_customers, orders) in sizes.items()}
    for kind, (customers, orders) in sizes.items():
        generated.dataset_ensure(databases[kind], customers, orders, args.regenerate)
        generated.bench_user()

    cases = []
    print(f"{'format':<6} {'orders':>10} {'seconds':>8} {'rows/s':>8} {'peak RSS MiB':>13} {'file MiB':>9}")
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as export_root:
        for file_format in args.formats.split(","):
            measured = {}
            for kind in sizes:
                figures = measured[kind] = export_measure(databases[kind], file_format, export_root)
                print(
                    f"{file_format:<6} {figures['rows']:>10,} {figures['seconds']:>8.1f} "
                    f"{figures['rows'] / figures['seconds']:>8,.0f} {figures['peak_kib'] / 1024:>13.1f} "
                    f"{figures['bytes'] / 2**20:>9.1f}"
                )
            big, small = measured["big"], measured["small"]
            ratio = big["peak_kib"] / small["peak_kib"]
            cases.append({
                "name": f"export {big['rows']:,} orders as {file_format}: peak RSS vs {small['rows']:,}",
                "unit": "KiB",
                "value": big["peak_kib"],
                "baseline": small["peak_kib"],
                "ratio": round(ratio, 3),
                "target": TARGET_RATIO,
                "better": "lower",
                "met": ratio <= TARGET_RATIO,
            })
            print(f"{file_format}: peak RSS ratio {ratio:.3f} (target <= {TARGET_RATIO})")
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": cases}, indent=2, ensure_ascii=False))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
