"""The catalog page with its facets over 10,000 released versions on PostgreSQL (issue 12).
Target: the page answers in under 300 ms.

    .venv/bin/python bench/catalog_facets.py [--runs 7] [--models 5000] [--calls 1000000]
        [--subscriptions 30000] [--keep] [--explain]

Makes a database of its own, samhub_bench_catalog on postgres@127.0.0.1:5432 (dropped and
created again unless --keep reuses it; DATABASE_URL chooses another), migrates it and fills
it through the ORM's bulk inserts and, for the metered calls, one INSERT ... SELECT from
generate_series:

- 25 organisations, 5,000 models (inference type, domain, region, scenario, 1 to 4 of 60
  tags, drawn with skewed weights so facets have frequent and rare values; a tenth of the
  domains spelt in lower case), each with two RELEASED versions (10,000 in the catalog) and,
  for one model in five, a DEPRECATED and a DRAFT version the catalog must leave out;
- one or two performance scores per version among eight metrics (errors such as MAE on
  0.05-12, others on 0.5-0.99);
- 30,000 active subscriptions of 400 consumers and 1,000,000 metered calls, both skewed
  towards a few popular models.

Then a consumer opens the catalog through Django's test client (the whole view: session,
form, the catalog query and its count, the six facet queries, the metric ranges, the
templates), once to warm up and --runs times timed per query string: newest first, by name,
best MAE, most subscribers, most calls, facets chosen, a text search, a deep page. Each line
gives the median, the fastest and the slowest run, the SQL statements of one run and the time
they took, and the CPU time one page costs (this process, the whole Django request; the
PostgreSQL backend, read from /proc): on a shared machine the wall time is that work plus the
wait for a core. --explain prints PostgreSQL's plan of each statement of the slowest page.
"""

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE = "samhub_bench_catalog"
PG = ["-h", "127.0.0.1", "-U", "postgres"]
DOMAINS = ["RAN", "Core", "Transport", "IMS", "Edge", "OAM", "Energy", "Security", "Slicing"]
REGIONS = [f"Region {n}" for n in range(1, 13)]
SCENARIOS = [
    "Energy saving", "Load balancing", "Fault detection", "Anomaly detection", "Mobility",
    "Traffic forecast", "QoS prediction", "Slice assurance", "Capacity planning",
    "Interference", "Coverage", "Handover optimisation", "Churn", "Alarm correlation",
    "Root cause",
]  # fmt: skip
TAGS = [f"tag-{n:02d}" for n in range(60)]
METRICS = ["MAE", "RMSE", "MSE", "ACCURACY", "F1", "PRECISION", "RECALL", "AUC"]
ERRORS = {"MAE", "RMSE", "MSE"}
WORDS = ["cell", "load", "forecast", "anomaly", "traffic", "energy", "handover", "slice"]


def skewed(rng: random.Random, values: list, power: float = 2.0):
    """A value of the list, the first ones far more often (a popularity curve)."""
    return values[int(len(values) * rng.random() ** power)]


def setup_django(scratch: Path) -> None:
    os.environ.setdefault("SAMHUB_DATA_DIR", str(scratch))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(args) -> dict:
    """The catalog's data; returns what the measured queries refer to."""
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.utils import timezone

    from registry.models import (
        AccessType,
        ModelPerformance,
        ModelVersion,
        Organisation,
        SmallAIModel,
        Tag,
        VersionStatus,
    )
    from sharing.models import Subscription, SubscriptionStatus

    rng = random.Random(12)
    now = timezone.now()
    orgs = Organisation.objects.bulk_create(
        Organisation(name=f"Operator {n}", slug=f"operator-{n}") for n in range(25)
    )
    provider = User.objects.create_user("bench-provider")
    provider.groups.add(Group.objects.get(name="provider"))
    consumers = User.objects.bulk_create(User(username=f"bench-consumer-{n}") for n in range(400))
    consumer_group = Group.objects.get(name="consumer")
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=c.pk, group_id=consumer_group.pk) for c in consumers
    )
    tags = Tag.objects.bulk_create(Tag(name=t) for t in TAGS)

    sams = []
    for n in range(args.models):
        domain = skewed(rng, DOMAINS, 1.6)
        sams.append(
            SmallAIModel(
                name=f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {n}",
                slug=f"bench-{n}",
                description=f"Predicts {rng.choice(WORDS)} for {domain}.",
                organisation=orgs[n % len(orgs)],
                inference_type=skewed(rng, ["NWDAF_ANALYTICS", "MDA", "VENDOR_SPECIFIC"], 1.5),
                inference_name="NF_LOAD",
                domain=domain.lower() if rng.random() < 0.1 else domain,
                region=skewed(rng, REGIONS, 1.4),
                scenario=skewed(rng, SCENARIOS, 1.8) if rng.random() < 0.9 else "",
                created_by=provider,
            )
        )
    sams = SmallAIModel.objects.bulk_create(sams, batch_size=1000)
    through = SmallAIModel.tags.through
    through.objects.bulk_create(
        (
            through(smallaimodel_id=sam.pk, tag_id=tag.pk)
            for sam in sams
            for tag in {skewed(rng, tags, 2.2) for _ in range(rng.randint(1, 4))}
        ),
        batch_size=5000,
    )

    versions = []
    for i, sam in enumerate(sams):
        states = [VersionStatus.RELEASED, VersionStatus.RELEASED]
        if i % 5 == 0:
            states += [VersionStatus.DEPRECATED, VersionStatus.DRAFT]
        for k, state in enumerate(states):
            released = now - timedelta(minutes=rng.randint(1, 2 * 365 * 24 * 60))
            versions.append(
                ModelVersion(
                    sam=sam,
                    version=f"1.{k}.0",
                    status=state,
                    access_type=AccessType.EXTERNAL_ENDPOINT,
                    endpoint_url="https://inference.example.net/v1/predict",
                    created_by=provider,
                    released_at=None if state == VersionStatus.DRAFT else released,
                    deprecated_at=released if state == VersionStatus.DEPRECATED else None,
                    signature={"inputs": [{"name": "kpis", "type": "float", "shape": [None, 6]}]},
                )
            )
    versions = ModelVersion.objects.bulk_create(versions, batch_size=2000)
    scores = []
    for version in versions:
        for metric in {skewed(rng, METRICS, 1.3) for _ in range(rng.randint(1, 2))}:
            value = rng.uniform(0.05, 12) if metric in ERRORS else rng.uniform(0.5, 0.99)
            scores.append(
                ModelPerformance(
                    version=version,
                    inference_output_name="y",
                    performance_metric=metric,
                    performance_score=round(value, 4),
                )
            )
    ModelPerformance.objects.bulk_create(scores, batch_size=5000)

    popular = sams[:]
    rng.shuffle(popular)
    triples = set()
    while len(triples) < args.subscriptions:
        triples.add(
            (
                rng.choice(consumers).pk,
                skewed(rng, popular, 2.5).pk,
                rng.choice(["INFERENCE", "SDK", "BUNDLE"]),
            )
        )
    Subscription.objects.bulk_create(
        (
            Subscription(consumer_id=c, sam_id=s, method=m, status=SubscriptionStatus.ACTIVE)
            for c, s, m in triples
        ),
        batch_size=5000,
    )

    released = [v.pk for v in versions if v.status == VersionStatus.RELEASED]
    rng.shuffle(released)
    with connection.cursor() as cursor:
        # Calls skewed towards the first versions of a shuffled list: popularity.
        cursor.execute(
            """
            INSERT INTO sharing_inferencerecord (id, version_id, caller_id, count, latency_ms,
                outcome, error, created_at)
            SELECT gen_random_uuid(), (%s::int[])[1 + floor(power(random(), 3) * %s)::int],
                   %s, 1, 1.0, 'OK', '', now() - random() * interval '90 days'
            FROM generate_series(1, %s)
            """,
            [released, len(released), consumers[0].pk, args.calls],
        )
        cursor.execute("VACUUM ANALYZE")  # Django runs in autocommit outside atomic()
    common_tag = max(TAGS[:5], key=lambda t: through.objects.filter(tag__name=t).count())
    return {"consumer": consumers[0], "tag": common_tag}


def backend_cpu_seconds() -> float | None:
    """CPU time the PostgreSQL backend serving this connection has used (it runs on this
    machine: /proc), or None where it cannot be read."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(client, params: dict, runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get("/", params)  # warm: plans, template cache
    times = []
    # CPU time of this process (the whole Django request) and of the database backend, over
    # all the runs: the work a page costs, whatever else the machine's cores are doing.
    python_before, backend_before = time.process_time(), backend_cpu_seconds()
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/", params)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    python_cpu = (time.process_time() - python_before) / runs * 1000
    backend_after = backend_cpu_seconds()
    backend = (backend_after - backend_before) / runs * 1000 if backend_after is not None else None
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/", params)
    # "1–12 of 3,456 versions found" (the template context is kept only under the test runner)
    found = re.search(r'id="result-count">(?:.*? of )?([\d,]+) version', response.content.decode())
    return {
        "median": statistics.median(times),
        "min": min(times),
        "max": max(times),
        "queries": len(captured),
        "sql_ms": sum(float(q["time"]) for q in captured.captured_queries) * 1000,
        "found": int(found.group(1).replace(",", "")),
        "python_cpu": python_cpu,
        "backend_cpu": backend,
        "statements": [q["sql"] for q in captured.captured_queries],
    }


def cpu(result: dict) -> str:
    if result["backend_cpu"] is None:
        return f"{result['python_cpu']:.0f} ms + ?"
    total = result["python_cpu"] + result["backend_cpu"]
    return f"{result['python_cpu']:.0f} + {result['backend_cpu']:.0f} = {total:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--models", type=int, default=5000, help="two released versions each")
    parser.add_argument("--subscriptions", type=int, default=30000)
    parser.add_argument("--calls", type=int, default=1000000)
    parser.add_argument("--keep", action="store_true", help="reuse the filled database")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    url = os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DATABASE}")
    if not url.startswith("postgres"):
        sys.exit("The target is on PostgreSQL: set DATABASE_URL to a postgres:// database.")
    database = url.rsplit("/", 1)[-1]
    if not args.keep:
        subprocess.run(["dropdb", *PG, "--if-exists", database], check=True)
        subprocess.run(["createdb", *PG, database], check=True)
    scratch = Path(tempfile.mkdtemp(prefix="samhub-bench-catalog-"))
    setup_django(scratch)

    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    from registry.models import ModelVersion, VersionStatus

    started = time.perf_counter()
    if args.keep and ModelVersion.objects.exists():
        from registry.models import Tag

        data = {
            "consumer": User.objects.get(username="bench-consumer-0"),
            "tag": Tag.objects.order_by("name").first().name,
        }
    else:
        data = fill(args)
    print(f"data ready in {time.perf_counter() - started:.0f} s: ", end="")
    from sharing.services import version_popularity_count

    counted_at = time.perf_counter()
    counted = version_popularity_count()  # what Celery beat runs every 5 minutes
    counting = time.perf_counter() - counted_at
    print(
        f"{ModelVersion.objects.filter(status=VersionStatus.RELEASED).count():,} released "
        f"versions of {ModelVersion.objects.values('sam').distinct().count():,} models, "
        f"{ModelVersion.objects.count():,} versions in all; popularity of {counted:,} "
        f"versions counted in {counting * 1000:.0f} ms"
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(data["consumer"])
    cases = [
        ("newest release first (default)", {}),
        ("by name", {"sort": "name"}),
        ("best MAE (lowest first)", {"metric": "MAE", "sort": "best"}),
        ("most subscribers", {"sort": "subscribers"}),
        ("most calls", {"sort": "calls"}),
        ("domain RAN + a tag", {"domain": "RAN", "tag": data["tag"]}),
        (
            "MDA in Region 2, by name",
            {"inference_type": "MDA", "region": "Region 2", "sort": "name"},
        ),
        (
            "ACCURACY >= 0.9, most calls",
            {"metric": "ACCURACY", "min_score": "0.9", "sort": "calls"},
        ),
        ("text search 'forecast'", {"q": "forecast"}),
        ("page 400 of 834", {"page": "400"}),
    ]
    load = os.getloadavg()[0]
    print(f"load average {load:.1f}; {args.runs} timed runs each\n")
    print(
        "| query string | found | median | fastest | slowest | SQL statements (ms) "
        "| CPU: Django + PostgreSQL |"
    )
    print("| --- | ---: | ---: | ---: | ---: | --- | --- |")
    results = []
    for label, params in cases:
        result = measure(client, params, args.runs)
        results.append((label, params, result))
        print(
            f"| {label} | {result['found']:,} | **{result['median']:.0f} ms** | "
            f"{result['min']:.0f} ms | {result['max']:.0f} ms | "
            f"{result['queries']} ({result['sql_ms']:.0f} ms) | {cpu(result)} |"
        )
    worst = max(results, key=lambda r: r[2]["median"])
    print(f"\nslowest: {worst[0]} at {worst[2]['median']:.0f} ms (target < 300 ms)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.explain:
        with connection.cursor() as cursor:
            for sql in worst[2]["statements"]:
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF) " + sql)
                print("\n" + sql[:300])
                print("\n".join(row[0] for row in cursor.fetchall()))


if __name__ == "__main__":
    main()
