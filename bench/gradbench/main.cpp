// GradBench-style workloads through the C++ wrapper, beside ADOL-C: see harness.hpp and
// BENCHMARKS.md. Usage:
//   gradbench [--tiny] [--budget SECONDS] [--no-adolc] [--only SIZE] [--skip SIZE]... [EVAL...]
// --tiny runs each eval at its smallest sizes, checking derivatives only (no timing):
// the `make test` run. EVAL names which evals to run (default: all). Prints what the
// wrapper costs per recorded op (wrapper_cost.hpp), one line per workload, then a
// markdown table of the median ratios per eval. --only runs just the sizes whose name
// contains SIZE (`--only k=1000,n=100000`); --skip leaves out those that do. Exits non-zero when a derivative that ran
// disagrees with its reference.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <sys/wait.h>
#include <unistd.h>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ba.hpp"
#include "det.hpp"
#include "gmm.hpp"
#include "harness.hpp"
#include "ht.hpp"
#include "kmeans.hpp"
#include "llsq.hpp"
#include "lse.hpp"
#include "lstm.hpp"
#include "ode.hpp"
#include "wrapper_cost.hpp"
#ifdef GRADBENCH_CODIPACK
#include "codipack.hpp"
#endif

using namespace gradbench;

namespace {

// One eval: its workloads, smallest first, each made on demand (data for the largest
// take memory).
struct Eval {
    const char *name;
    const char *codipack; // CoDiPack's ratio from the run, for reference
    std::vector<std::function<Result(const Options &)>> full, tiny;
};

template <class E, class... A> std::function<Result(const Options &)> workload(A... args) {
    return [=](const Options &opt) {
        std::mt19937_64 rng(31337);
        E e(args..., rng);
        bool skip = e.size().find(opt.only) == std::string::npos;
        for (const std::string &left_out : opt.skip) skip = skip || e.size().find(left_out) != std::string::npos;
        if (skip) {
            Result skipped;
            skipped.skipped = true;
            return skipped;
        }
        return run(e, opt);
    };
}

// The records half the machine's memory holds at 24 bytes a record (the limit is
// 2^32 - 1 records): kmeans sizes past it are derived in parts.
size_t record_cap() {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    double half = pages > 0 && page > 0 ? 0.5 * double(pages) * double(page) : 8e9;
    return size_t(std::min(half / 24.0, double(UINT32_MAX)));
}

std::vector<Eval> evals() {
    std::vector<Eval> all;
    Eval lse{"lse", "2.42", {}, {}};
    for (size_t n = 2500; n <= 1280000; n *= 2) lse.full.push_back(workload<Lse>(n));
    lse.tiny = {workload<Lse>(size_t(10)), workload<Lse>(size_t(300))};
    all.push_back(lse);
    Eval llsq{"llsq", "10.8", {}, {}};
    for (size_t n : {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8196, 16392})
        llsq.full.push_back(workload<Llsq>(n, size_t(128)));
    llsq.tiny = {workload<Llsq>(size_t(16), size_t(8)), workload<Llsq>(size_t(64), size_t(16))};
    all.push_back(llsq);
    Eval det{"det", "3.1", {}, {}};
    for (size_t ell = 5; ell <= 11; ell++) det.full.push_back(workload<Det>(ell));
    det.tiny = {workload<Det>(size_t(3)), workload<Det>(size_t(6))};
    all.push_back(det);
    Eval gmm{"gmm", "13.5", {}, {}};
    for (size_t d : {2, 10, 20, 32, 64})
        for (size_t k : {5, 10, 25, 50, 100}) gmm.full.push_back(workload<Gmm>(d, k, size_t(1000)));
    gmm.tiny = {workload<Gmm>(size_t(2), size_t(3), size_t(5)), workload<Gmm>(size_t(4), size_t(5), size_t(20))};
    all.push_back(gmm);
    Eval ode{"ode", "10.1", {}, {}};
    for (size_t n : {1000, 10000, 100000})
        for (size_t s : {1, 10, 100}) ode.full.push_back(workload<Ode>(n, s));
    // RK4 carries y_i four indices per step: y_{n-1} depends on x only when 4s >= n (GradBench's
    // sizes with 4s < n have a zero gradient).
    ode.tiny = {workload<Ode>(size_t(5), size_t(2)), workload<Ode>(size_t(12), size_t(4))};
    all.push_back(ode);
    Eval lstm{"lstm", "2.74", {}, {}};
    for (size_t l : {2, 4})
        for (size_t c : {1024, 4096}) lstm.full.push_back(workload<Lstm>(l, c, size_t(14)));
    lstm.tiny = {workload<Lstm>(size_t(1), size_t(4), size_t(3)), workload<Lstm>(size_t(2), size_t(10), size_t(4))};
    all.push_back(lstm);
    Eval kmeans{"kmeans", "37.1", {}, {}};
    for (size_t k : {10, 100, 1000})
        for (size_t n : {1000, 10000, 100000})
            for (size_t d : {8, 16}) {
                // About 3d + 1 records per point and centroid on the dual tape (40 bytes
                // a record). A size past half this machine's memory is derived in parts
                // of about 2^24 records, one part's tape at a time (the cost is a sum
                // over points): a fixed-memory host's way, for ours and ADOL-C alike.
                double records = double(n) * double(k) * double(3 * d + 1);
                double cap = double(record_cap()) * 24 / 40;
                size_t parts = records < cap ? 1 : size_t(std::ceil(records / double(1 << 24)));
                kmeans.full.push_back(workload<Kmeans>(k, n, d, parts));
            }
    kmeans.tiny = {workload<Kmeans>(size_t(3), size_t(20), size_t(2)), workload<Kmeans>(size_t(5), size_t(200), size_t(4)),
                   workload<Kmeans>(size_t(5), size_t(200), size_t(4), size_t(7))};
    all.push_back(kmeans);
    Eval ba{"ba", "27.5", {}, {}};
    // The sizes of ADBench's first three files (ba1, ba2, ba3), synthetic data.
    ba.full = {workload<Ba>(size_t(49), size_t(7776), size_t(31843)),
               workload<Ba>(size_t(21), size_t(11315), size_t(36455)),
               workload<Ba>(size_t(161), size_t(48126), size_t(182072))};
    ba.tiny = {workload<Ba>(size_t(2), size_t(5), size_t(12))};
    all.push_back(ba);
    Eval ht{"ht", "46", {}, {}};
    // ADBench's point counts (hand1 .. hand12) on a model of its small hand's size (544
    // vertices, 1084 triangles), without us ("simple") and with them ("complicated").
    for (bool with_us : {false, true})
        for (size_t points : {100, 192, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 100000})
            ht.full.push_back(workload<Ht>(with_us, points, size_t(544), size_t(1084)));
    ht.tiny = {workload<Ht>(false, size_t(10), size_t(30), size_t(50)),
               workload<Ht>(true, size_t(12), size_t(30), size_t(50))};
    all.push_back(ht);
    return all;
}

// The median of the ratios, leaving out NaN (a mode that did not run); "-" for none.
std::string median(std::vector<double> v) {
    v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
    if (v.empty()) return "-";
    std::sort(v.begin(), v.end());
    size_t h = v.size() / 2;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]));
    return buf;
}

// The ratio to the primal time; without timings, the derivative's checked error.
std::string ratio(const Mode &m, double primal) {
    if (!m.ran) return "-";
    if (!m.failure.empty()) return "FAILED";
    char buf[32];
    if (primal > 0.0)
        std::snprintf(buf, sizeof buf, "%.3g", m.seconds / primal);
    else
        std::snprintf(buf, sizeof buf, "err=%.1e", m.error);
    return buf;
}

// What the parent keeps of a workload run in a child process.
struct Summary {
    bool ours_ok = false, adolc_ok = false, codipack_ok = false, wrong = false, skipped = false;
    // Ratios; NaN for a mode that did not run (no replay for a size derived in parts).
    double ours_replay = 0, ours_retape = 0, adolc_replay = 0, adolc_retape = 0, codipack_retape = 0;
    size_t records = 0; // on our tape: the measure of "largest"
    char size[96] = {0};
};

// Runs one workload and prints its line.
Summary run_workload(const std::function<Result(const Options &)> &make, const Options &opt) {
    Result r = make(opt);
    Summary sum;
    sum.skipped = r.skipped;
    if (r.skipped) return sum;
    std::printf("%s %s %zu %zu %.1f | %s %s %s %s %s |", r.eval.c_str(), r.size.c_str(), r.inputs, r.records,
                r.primal_s * 1e6, ratio(r.ours_replay, r.primal_s).c_str(), ratio(r.ours_retape, r.primal_s).c_str(),
                ratio(r.adolc_replay, r.primal_s).c_str(), ratio(r.adolc_retape, r.primal_s).c_str(),
                ratio(r.codipack_retape, r.primal_s).c_str());
    for (const Mode *m : {&r.ours_replay, &r.ours_retape, &r.adolc_replay, &r.adolc_retape, &r.codipack_retape}) {
        if (m->ran && !m->failure.empty()) std::printf(" [%s]", m->failure.c_str());
        if (!m->note.empty()) std::printf(" (%s)", m->note.c_str());
        // A capacity failure is reported; a wrong derivative fails the run.
        if (m->failure.rfind("gradient off", 0) == 0) sum.wrong = true;
    }
    std::printf("\n");
    std::fflush(stdout);
    sum.ours_ok = r.ours_replay.failure.empty() && r.ours_retape.failure.empty();
    sum.adolc_ok = r.adolc_retape.ran && r.adolc_replay.failure.empty() && r.adolc_retape.failure.empty();
    sum.codipack_ok = r.codipack_retape.ran && r.codipack_retape.failure.empty();
    auto ratio_of = [&](const Mode &m) { return m.ran ? m.seconds / r.primal_s : NAN; };
    sum.ours_replay = ratio_of(r.ours_replay);
    sum.ours_retape = ratio_of(r.ours_retape);
    sum.adolc_replay = ratio_of(r.adolc_replay);
    sum.adolc_retape = ratio_of(r.adolc_retape);
    sum.codipack_retape = ratio_of(r.codipack_retape);
    sum.records = r.records;
    std::snprintf(sum.size, sizeof sum.size, "%s", r.size.c_str());
    return sum;
}

// The same in a child process: each workload starts from a fresh ADOL-C (whose location
// store otherwise keeps the size of the largest workload run before, and makes every
// later small tape pay for it), and a crash is reported, not fatal.
Summary run_isolated(const std::function<Result(const Options &)> &make, const Options &opt) {
    int fds[2];
    Summary sum;
    std::fflush(stdout);
    if (pipe(fds) != 0) return run_workload(make, opt);
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        Summary s = run_workload(make, opt);
        ssize_t wrote = write(fds[1], &s, sizeof s);
        _exit(wrote == ssize_t(sizeof s) ? 0 : 1);
    }
    close(fds[1]);
    ssize_t got = child > 0 ? read(fds[0], &sum, sizeof sum) : -1;
    close(fds[0]);
    int status = 0;
    if (child > 0) waitpid(child, &status, 0);
    if (got != ssize_t(sizeof sum)) {
        sum = Summary();
        sum.wrong = true;
        std::printf("# a workload's process ended without a result (status %d)\n", status);
    }
    return sum;
}

} // namespace

int main(int argc, char **argv) {
    Options opt;
    bool tiny = false;
    std::vector<std::string> wanted;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--tiny")) tiny = true;
        else if (!std::strcmp(argv[i], "--no-adolc")) opt.adolc = false;
        else if (!std::strcmp(argv[i], "--budget") && i + 1 < argc) opt.budget_s = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) opt.only = argv[++i];
        else if (!std::strcmp(argv[i], "--skip") && i + 1 < argc) opt.skip.push_back(argv[++i]);
        else wanted.push_back(argv[i]);
    }
    opt.time = !tiny;
#ifndef GRADBENCH_ADOLC
    opt.adolc = false;
    std::printf("# built without ADOL-C: its columns are empty\n");
#endif
    if (!tiny) {
        ad::Tape tape = ad::Tape::heap(ad::Tape::bytes_for(size_t(1) << 22));
        wrapper_cost(tape, opt.budget_s);
    }
    bool ok = true;
    std::printf("# eval size inputs records primal_us | ratios: ours_replay ours_retape adolc_replay adolc_retape codipack_retape | failures\n");
    std::vector<std::string> table;
    for (const Eval &ev : evals()) {
        if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), ev.name) == wanted.end()) continue;
        std::vector<double> rr, rt, ar, at, ct;
        // The largest workload each ran: by the records it put on our tape.
        std::string ours_largest = "-", adolc_largest = "-", failures;
        size_t ours_most = 0, adolc_most = 0;
        for (const auto &make : tiny ? ev.tiny : ev.full) {
            Summary sum = run_isolated(make, opt);
            if (sum.skipped) continue;
            ok = ok && !sum.wrong;
            if (sum.ours_ok) {
                if (sum.records >= ours_most) ours_largest = sum.size, ours_most = sum.records;
                rr.push_back(sum.ours_replay);
                rt.push_back(sum.ours_retape);
            } else {
                failures += (failures.empty() ? "" : "; ") + std::string(sum.size);
            }
            if (sum.adolc_ok) {
                if (sum.records >= adolc_most) adolc_largest = sum.size, adolc_most = sum.records;
                ar.push_back(sum.adolc_replay);
                at.push_back(sum.adolc_retape);
            }
            if (sum.codipack_ok) ct.push_back(sum.codipack_retape);
        }
        char row[512];
        std::snprintf(row, sizeof row, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", ev.name,
                      median(ar).c_str(), median(at).c_str(), median(rr).c_str(), median(rt).c_str(), median(ct).c_str(),
                      ev.codipack, ours_largest.c_str(),
                      adolc_largest.c_str(), failures.empty() ? "" : failures.c_str());
        table.push_back(row);
    }
    if (!tiny) {
        std::printf("\n| eval | ADOL-C replay | ADOL-C retape | ours (replay) | ours (retape) | CoDiPack retape | CoDiPack (issue) | largest ours | largest ADOL-C | our failures |\n");
        std::printf("|---|---:|---:|---:|---:|---:|---:|---|---|---|\n");
        for (const std::string &row : table) std::printf("%s\n", row.c_str());
    }
    std::printf("gradbench: %s\n", ok ? "every derivative that ran matched its reference" : "a derivative was WRONG");
    return ok ? 0 : 1;
}
