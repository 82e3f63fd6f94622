#!/usr/bin/env python3
"""Lexical search on a shared engine, measured: the two candidates issue 20 names for replicas that share
lexical search instead of each keeping BM25 postings that follow the change feed.

- Qdrant: a sparse vector per memory with the IDF modifier (Qdrant computes the IDF at query time; the
  BM25 term-frequency part, k1 = 1.2, b = 0.75, is computed client-side at write time against the corpus'
  average length), run on Qdrant's own engine in-process (qdrant-edge-py: no HTTP, so the engine's cost
  alone; a real deployment adds a round trip).
- PostgreSQL full-text search: a GIN index over `to_tsvector('simple', text)`, a query OR-ing the query's
  terms, ranked by `ts_rank_cd`; the server-side execution time from `EXPLAIN ANALYZE` (no round trip).

Both are compared with exact Okapi BM25 computed here (Lucene IDF, k1 = 1.2, b = 0.75: what Engram's
in-process `BM25Index` scores), the ranking today's fusion expects: the share of the exact top 10 each engine
returns in its own top 10, and p50/p95 per query at depth 100. Engram's own in-process BM25 on a corpus of the
same shape is `engram-bench eval search-breakdown` ("BM25 part (depth 100)"), printed first when
ENGRAM_BENCH_BIN is set.

Then the same engine over many tenants (N / 2000 tenants of 2000 memories, each with its own jargon), each query
filtered to one tenant as Engram scopes every search: (a) the IDF modifier, whose IDF Qdrant computes over the
whole collection, against (b) no modifier with the query weighted by the tenant's own IDF; agreement with the
tenant's exact top 10, and how far a tenant's score for its own memory moves when another tenant writes
memories naming the same word (a cross-tenant side channel when it moves). docs/replicas.md reads the figures.

Corpus: N synthetic memories of 12..31 words drawn from a Zipf-distributed vocabulary of 20,000 words (the
shape of `engram-bench`'s synthetic corpus), queries of 6 words from the same distribution.

    bash -c 'source Tests/pg_cluster.sh; python3 Tests/bench_lexical.py --memories 100000 --queries 200'
"""
import argparse
import collections
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

K1, B = 1.2, 0.75


def corpus(n, seed=11, vocab=20_000):
    rng = random.Random(seed)
    words = [f"w{i:05d}" for i in range(vocab)]
    weights = [1.0 / (i + 1) for i in range(vocab)]
    cum = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)

    def draw(k):
        return " ".join(words[_bisect(cum, rng.random() * total)] for _ in range(k))

    docs = [draw(12 + i % 20) for i in range(n)]
    return docs, draw


def _bisect(a, x):
    lo, hi = 0, len(a)
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def tokens(text):
    return re.findall(r"\w+", text.lower())


class ExactBM25:
    def __init__(self, docs):
        self.tfs = [collections.Counter(tokens(d)) for d in docs]
        self.lens = [sum(c.values()) for c in self.tfs]
        self.avgdl = sum(self.lens) / len(self.lens)
        self.df = collections.Counter()
        self.postings = collections.defaultdict(list)
        for i, c in enumerate(self.tfs):
            for t, f in c.items():
                self.df[t] += 1
                self.postings[t].append((i, f))
        self.n = len(docs)

    def idf(self, t):
        df = self.df.get(t, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def tf_part(self, f, dl):
        return tf_part(f, dl, self.avgdl)

    def top(self, query, k):
        scores = collections.defaultdict(float)
        for t in set(tokens(query)):
            w = self.idf(t)
            for i, f in self.postings.get(t, ()):
                scores[i] += w * self.tf_part(f, self.lens[i])
        return [i for i, _ in sorted(scores.items(), key=lambda x: (-x[1], x[0]))[:k]]


def tf_part(f, dl, avgdl):
    """BM25's term-frequency part: a term occurring `f` times in a document of `dl` terms."""
    return f * (K1 + 1) / (f + K1 * (1 - B + B * dl / avgdl))


def term_index(t):
    # A stable 31-bit index per term (Qdrant sparse indices are u32).
    h = 2166136261
    for ch in t.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h & 0x7FFFFFFF


def upsert_all(shard, points, batch_size=2000):
    """Writes `points` into a qdrant-edge shard in batches, then optimises it (as a loaded Qdrant would be)."""
    import qdrant_edge as E

    batch = []
    for p in points:
        batch.append(p)
        if len(batch) == batch_size:
            shard.update(E.UpdateOperation.upsert_points(batch))
            batch = []
    if batch:
        shard.update(E.UpdateOperation.upsert_points(batch))
    shard.optimize()


def bench_qdrant(docs, queries, exact, depth, k):
    import qdrant_edge as E

    path = tempfile.mkdtemp(prefix="bench-lexical-qdrant-")
    try:
        shard = E.EdgeShard.create(path, E.EdgeConfig(sparse_vectors={"bm25": E.EdgeSparseVectorParams(modifier=E.Modifier.Idf)}))
        t0 = time.perf_counter()
        upsert_all(shard, (
            E.Point(i + 1, {"bm25": E.SparseVector(indices=[term_index(t) for t in c],
                                                   values=[exact.tf_part(f, exact.lens[i]) for f in c.values()])}, None)
            for i, c in enumerate(exact.tfs)))
        load = time.perf_counter() - t0
        times, agree = [], []
        for n, q in enumerate(queries):
            terms = sorted(set(tokens(q)))
            sv = E.SparseVector(indices=[term_index(t) for t in terms], values=[1.0] * len(terms))
            req = E.QueryRequest(limit=depth, query=E.Query.Nearest(sv, using="bm25"), with_payload=False)
            t = time.perf_counter()
            hits = shard.query(req)
            dt = time.perf_counter() - t
            if n >= 10:
                times.append(dt)
                got = [int(h.id) - 1 for h in hits[:k]]
                want = exact.top(q, k)
                agree.append(len(set(got) & set(want)) / max(1, len(want)))
        shard.close()
        return load, times, agree
    finally:
        shutil.rmtree(path, ignore_errors=True)


def tenant_corpus(tenants, per_tenant, seed=23, vocab=20_000, jargon=200):
    """Memories of `tenants` tenants: the shared Zipf vocabulary, and in each tenant a share of words from
    its own jargon (200 words of the vocabulary's tail, Zipf-ranked within the tenant), as each team's
    memories name its own services and tools. Returns [(tenant, text)] and a query drawer per tenant."""
    rng = random.Random(seed)
    words = [f"w{i:05d}" for i in range(vocab)]
    cum, total = [], 0.0
    for i in range(vocab):
        total += 1.0 / (i + 1)
        cum.append(total)
    jcum, jtotal = [], 0.0
    for i in range(jargon):
        jtotal += 1.0 / (i + 1)
        jcum.append(jtotal)
    lexicons = [rng.sample(words[vocab // 4:], jargon) for _ in range(tenants)]

    def draw(tenant, k, r=rng):
        out = []
        for _ in range(k):
            if r.random() < 0.3:
                out.append(lexicons[tenant][_bisect(jcum, r.random() * jtotal)])
            else:
                out.append(words[_bisect(cum, r.random() * total)])
        return " ".join(out)

    docs = [(t, draw(t, 12 + i % 20)) for t in range(tenants) for i in range(per_tenant)]
    return docs, draw


def bench_tenants(tenants, per_tenant, queries, depth, k):
    """Qdrant's IDF modifier computes IDF over the whole collection, every tenant's points together; Engram
    ranks each tenant by its own statistics. Two measurements on Qdrant's engine:
    - agreement with the per-tenant exact top 10, (a) with the IDF modifier (collection-wide IDF) and (b) with
      no modifier and the query's weights set to the tenant's own IDF (what Engram would send);
    - the leak: how far a tenant's own score for its own memory moves when another tenant writes memories
      naming the same word, under (a) and (b)."""
    import qdrant_edge as E

    docs, draw = tenant_corpus(tenants, per_tenant)
    by_tenant = collections.defaultdict(list)
    for i, (t, text) in enumerate(docs):
        by_tenant[t].append(i)
    exact = {t: ExactBM25([docs[i][1] for i in ids]) for t, ids in by_tenant.items()}
    pooled = ExactBM25([text for _, text in docs])
    local = {}  # global doc index -> (tenant, index within tenant)
    for t, ids in by_tenant.items():
        for j, i in enumerate(ids):
            local[i] = (t, j)

    def shard(modifier):
        path = tempfile.mkdtemp(prefix="bench-lexical-tenants-")
        s = E.EdgeShard.create(path, E.EdgeConfig(sparse_vectors={"bm25": E.EdgeSparseVectorParams(modifier=modifier)}))
        s.update(E.UpdateOperation.create_field_index("tenant", E.PayloadSchemaType.Keyword))
        return s, path

    def vector(i, avgdl_of):
        t, j = local[i]
        tf = exact[t].tfs[j]
        dl = exact[t].lens[j]
        avgdl = avgdl_of(t)
        vals = [tf_part(f, dl, avgdl) for f in tf.values()]
        return E.SparseVector(indices=[term_index(w) for w in tf], values=vals)

    def load(s, avgdl_of):
        upsert_all(s, (E.Point(i + 1, {"bm25": vector(i, avgdl_of)}, {"tenant": f"t{t}"}) for i, (t, _) in enumerate(docs)))

    def ask(s, tenant, terms, weights):
        f = E.Filter(must=[E.FieldCondition(key="tenant", match=E.MatchValue(f"t{tenant}"))])
        sv = E.SparseVector(indices=[term_index(w) for w in terms], values=weights)
        req = E.QueryRequest(limit=depth, query=E.Query.Nearest(sv, using="bm25"), filter=f, with_payload=False)
        return s.query(req)

    rng = random.Random(5)
    qs = [(t, draw(t, 6, rng)) for t in (rng.randrange(tenants) for _ in range(queries))]
    results = {}
    for name, modifier, avgdl_of, weights_of in (
        ("(a) IDF modifier: collection-wide IDF", E.Modifier.Idf, lambda t: pooled.avgdl, lambda t, w: 1.0),
        ("(b) no modifier, the tenant's own IDF in the query", getattr(E.Modifier, "None"),
         lambda t: exact[t].avgdl, lambda t, w: exact[t].idf(w)),
    ):
        s, path = shard(modifier)
        try:
            load(s, avgdl_of)
            times, agree = [], []
            for t, q in qs:
                terms = sorted(set(tokens(q)))
                t0 = time.perf_counter()
                hits = ask(s, t, terms, [weights_of(t, w) for w in terms])
                times.append(time.perf_counter() - t0)
                got = [local[int(h.id) - 1][1] for h in hits[:k]]
                want = exact[t].top(q, k)
                agree.append(len(set(got) & set(want)) / max(1, len(want)))
            # The leak probe: tenant 0 holds one memory naming a word no one else uses; then tenant 1 writes
            # `per_tenant` memories naming it too. Tenant 0 asks the same question before and after.
            word = "zephyrcodename"
            probe = len(docs) + 1
            text = f"{word} " + draw(0, 15, random.Random(1))
            tf = collections.Counter(tokens(text))
            dl = sum(tf.values())
            probe_vals = [tf_part(f, dl, avgdl_of(0)) for f in tf.values()]
            s.update(E.UpdateOperation.upsert_points([
                E.Point(probe, {"bm25": E.SparseVector(indices=[term_index(w) for w in tf], values=probe_vals)}, {"tenant": "t0"})]))
            question = [word, "w00001"]

            def tenant0_idf(w):
                # Tenant 0's statistics with the probe memory: they do not change while tenant 1 writes.
                n = len(by_tenant[0]) + 1
                df = exact[0].df.get(w, 0) + (1 if w in tf else 0)
                return math.log(1 + (n - df + 0.5) / (df + 0.5))

            def own_score():
                weights = [tenant0_idf(w) if name.startswith("(b)") else 1.0 for w in question]
                hits = ask(s, 0, question, weights)
                return next((h.score for h in hits if int(h.id) == probe), None)

            before = own_score()
            other = []
            for j in range(per_tenant):
                other.append(E.Point(probe + 1 + j, {"bm25": E.SparseVector(indices=[term_index(word), term_index("w00002")], values=[1.0, 1.0])}, {"tenant": "t1"}))
            s.update(E.UpdateOperation.upsert_points(other))
            after = own_score()
            results[name] = (times, agree, before, after)
        finally:
            s.close()
            shutil.rmtree(path, ignore_errors=True)
    return results


def psql(url, sql, bin_dir):
    exe = os.path.join(bin_dir, "psql") if bin_dir else "psql"
    out = subprocess.run([exe, url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"], input=sql, capture_output=True, text=True, check=True)
    return out.stdout


def bench_postgres(docs, queries, exact, depth, k, url, bin_dir):
    data = tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False)
    for i, d in enumerate(docs):
        data.write(f"{i}\t{d}\n")
    data.close()
    t0 = time.perf_counter()
    psql(url, f"""
        DROP TABLE IF EXISTS bench_lexical;
        CREATE TABLE bench_lexical (id bigint PRIMARY KEY, text text NOT NULL,
          tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED);
        \\copy bench_lexical (id, text) FROM '{data.name}'
        CREATE INDEX bench_lexical_tsv ON bench_lexical USING gin (tsv);
        VACUUM ANALYZE bench_lexical;
    """, bin_dir)
    load = time.perf_counter() - t0
    os.unlink(data.name)

    def query_sql(q):
        terms = " | ".join(sorted(set(tokens(q))))
        return (f"SELECT id FROM bench_lexical, to_tsquery('simple', '{terms}') q WHERE tsv @@ q "
                f"ORDER BY ts_rank_cd(tsv, q) DESC, id LIMIT {depth}")

    times, agree = [], []
    script = []
    for q in queries:
        script.append(f"EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON, FORMAT TEXT) {query_sql(q)};")
        script.append("SELECT '--ids--';")
        script.append(f"SELECT string_agg(id::text, ',') FROM ({query_sql(q)} ) s;")
    out = psql(url, "\n".join(script), bin_dir)
    exec_times = [float(m) / 1000 for m in re.findall(r"Execution Time: ([0-9.]+) ms", out)]
    # Each query's ids follow its marker line (an empty line when nothing matched).
    id_lines = [part.split("\n", 1)[0] for part in out.split("--ids--\n")[1:]]
    for n, q in enumerate(queries):
        if n < 10:
            continue
        times.append(exec_times[n])
        got = [int(x) for x in id_lines[n].split(",") if x][:k]
        want = exact.top(q, k)
        agree.append(len(set(got) & set(want)) / max(1, len(want)))
    psql(url, "DROP TABLE bench_lexical;", bin_dir)
    return load, times, agree


def line(name, load, times, agree):
    return (f"  {name:<44} p50 {statistics.median(times) * 1000:7.2f} ms  p95 "
            f"{sorted(times)[int(len(times) * 0.95) - 1] * 1000:7.2f} ms  exact-top-10 agreement "
            f"{statistics.mean(agree) * 100:5.1f} %  (load {load:.1f} s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--memories", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--depth", type=int, default=100)
    args = ap.parse_args()
    docs, draw = corpus(args.memories)
    rng_queries = [draw(6) for _ in range(args.queries + 10)]
    exact = ExactBM25(docs)
    print(f"{args.memories} memories, {args.queries} queries of 6 words, depth {args.depth}; this machine: {os.cpu_count()} cores")
    bench = os.environ.get("ENGRAM_BENCH_BIN")
    if bench:
        out = subprocess.run([bench, "eval", "search-breakdown", "--memories", str(args.memories), "--queries", str(args.queries)],
                             capture_output=True, text=True)
        for ln in out.stdout.splitlines():
            if "BM25 part" in ln:
                print("  Engram in-process BM25Index (engram-bench, its own synthetic corpus):" + ln.split(")", 1)[1])
    load, times, agree = bench_qdrant(docs, rng_queries, exact, args.depth, 10)
    print(line("Qdrant engine, sparse + IDF (qdrant-edge)", load, times, agree))
    tenants = max(2, args.memories // 2000)
    print(f"{tenants} tenants of 2000 memories, each with its own jargon; {args.queries} queries, each in one tenant:")
    for name, (times, agree, before, after) in bench_tenants(tenants, 2000, args.queries, args.depth, 10).items():
        print(line(name, 0, times, agree).replace("exact-top-10", "per-tenant exact-top-10").replace("  (load 0.0 s)", ""))
        moved = (after - before) / before * 100 if before and after else float("nan")
        print(f"      tenant 0's own score for its own memory, before/after tenant 1 writes {2000} memories naming its word: "
              f"{before:.4f} / {after:.4f} ({moved:+.1f} %)")
    url = os.environ.get("ENGRAM_TEST_POSTGRES_OWNER_URL")
    if url:
        load, times, agree = bench_postgres(docs, rng_queries, exact, args.depth, 10, url, os.environ.get("PG_CLUSTER_BIN"))
        print(line("PostgreSQL FTS, GIN + ts_rank_cd", load, times, agree))
    else:
        print("  PostgreSQL FTS: skipped (no cluster: source Tests/pg_cluster.sh first)", file=sys.stderr)


if __name__ == "__main__":
    main()
