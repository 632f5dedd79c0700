// The C API of gbench_shim.h over Google Benchmark (tested with 1.7.1).
//
// Results are collected by a display reporter that forwards every call to the reporter
// --benchmark_format asks for (console, json, csv) and keeps each benchmark's times; the file
// reporter (--benchmark_out) is Google Benchmark's own, so the raw JSON is exactly what the library
// writes.
#include "gbench_shim.h"

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace {

struct Entry {
    std::string name;         // as registered
    std::string decorated;    // as Google Benchmark names the instance (what filters match)
    gb_body_fn body;
    void *user;
};

struct Collected {
    std::vector<double> times;  // seconds per iteration, one per repetition
    double median = 0, min = 0, max = 0;
    bool have_median = false, have_min = false, have_max = false;
    int64_t repetitions = 0, iterations = 0;
    bool error = false;
    std::string error_message;
};

std::vector<Entry> g_entries;
std::map<std::string, Collected> g_collected;
std::vector<std::string> g_order;  // names in the order they reported
std::vector<gb_result> g_results;
std::string g_format = "console";

double median_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double min_stat(const std::vector<double> &v) { return *std::min_element(v.begin(), v.end()); }
double max_stat(const std::vector<double> &v) { return *std::max_element(v.begin(), v.end()); }

class CollectingReporter : public benchmark::BenchmarkReporter {
   public:
    explicit CollectingReporter(benchmark::BenchmarkReporter *inner) : inner_(inner) {}

    bool ReportContext(const Context &context) override { return inner_->ReportContext(context); }

    void ReportRuns(const std::vector<Run> &runs) override {
        inner_->ReportRuns(runs);
        for (const Run &r : runs) {
            const std::string &name = r.run_name.function_name;
            auto it = g_collected.find(name);
            if (it == g_collected.end()) {
                it = g_collected.emplace(name, Collected()).first;
                g_order.push_back(name);
            }
            Collected &c = it->second;
#if MT_GBENCH_SKIPPED_RUNS /* Google Benchmark 1.8 calls a failed run skipped */
            if (r.skipped) {
                c.error = true;
                c.error_message = r.skip_message;
                continue;
            }
#else
            if (r.error_occurred) {
                c.error = true;
                c.error_message = r.error_message;
                continue;
            }
#endif
            double seconds = r.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(r.time_unit);
            c.repetitions = r.repetitions;
            if (r.run_type == Run::RT_Iteration) {
                c.times.push_back(seconds);
                c.iterations = r.iterations;
            } else if (r.aggregate_unit == benchmark::kTime) {
                if (r.aggregate_name == "median") c.median = seconds, c.have_median = true;
                if (r.aggregate_name == "min") c.min = seconds, c.have_min = true;
                if (r.aggregate_name == "max") c.max = seconds, c.have_max = true;
            }
        }
    }

    void Finalize() override { inner_->Finalize(); }

   private:
    benchmark::BenchmarkReporter *inner_;
};

std::string decorate(const std::string &name, const gb_policy &p) {
    // Mirrors how Google Benchmark 1.7 names an instance (benchmark_api_internal.cc).
    std::string s = name;
    char buf[64];
    if (p.min_time_s > 0) {
        std::snprintf(buf, sizeof buf, "/min_time:%0.3f", p.min_time_s);
        s += buf;
    }
    if (p.iterations > 0) {
        std::snprintf(buf, sizeof buf, "/iterations:%lu", (unsigned long)p.iterations);
        s += buf;
    }
    if (p.repetitions > 0) {
        std::snprintf(buf, sizeof buf, "/repeats:%d", p.repetitions);
        s += buf;
    }
    s += p.manual_time ? "/manual_time" : "/real_time";
    return s;
}

bool flag_value(const char *arg, const char *flag, std::string *value) {
    size_t n = std::strlen(flag);
    if (std::strncmp(arg, flag, n) != 0) return false;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return true;
    }
    if (arg[n] == '\0') {
        *value = "true";
        return true;
    }
    return false;
}

}  // namespace

extern "C" {

int gb_init(int *argc, char **argv) {
    for (int i = 1; i < *argc; i++) {
        std::string v;
        if (flag_value(argv[i], "--benchmark_format", &v)) {
            if (v != "console" && v != "json" && v != "csv") {
                std::fprintf(stderr, "--benchmark_format must be console, json or csv, got '%s'\n",
                             v.c_str());
                return 1;
            }
            g_format = v;
        }
        if (flag_value(argv[i], "--benchmark_out_format", &v) && v != "console" && v != "json" &&
            v != "csv") {
            std::fprintf(stderr, "--benchmark_out_format must be console, json or csv, got '%s'\n",
                         v.c_str());
            return 1;
        }
        if (flag_value(argv[i], "--benchmark_enable_random_interleaving", &v) && v != "false" &&
            v != "0") {
            std::fprintf(stderr,
                         "--benchmark_enable_random_interleaving is not supported: each case's "
                         "output is checked when its benchmark has finished, which needs the "
                         "benchmarks to run one after another\n");
            return 1;
        }
    }
    benchmark::Initialize(argc, argv);
    if (*argc > 1) {
        for (int i = 1; i < *argc; i++)
            std::fprintf(stderr, "unrecognized Google Benchmark argument: %s\n", argv[i]);
        return 1;
    }
    return 0;
}

int gb_register(const char *name, gb_body_fn body, void *user, const gb_policy *policy) {
    if (!name || !body) return 1;
    gb_policy p = policy ? *policy : gb_policy{0, 0, 0, false};
    size_t index = g_entries.size();
    g_entries.push_back(Entry{name, decorate(name, p), body, user});
    benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(
        name, [index](benchmark::State &st) {
            const Entry &e = g_entries[index];
            e.body(reinterpret_cast<gb_state *>(&st), e.user);
        });
    if (!b) return 1;
    b->Unit(benchmark::kMicrosecond);
    if (p.manual_time)
        b->UseManualTime();
    else
        b->UseRealTime();
    if (p.min_time_s > 0) b->MinTime(p.min_time_s);
    if (p.iterations > 0) b->Iterations(p.iterations);
    if (p.repetitions > 0) b->Repetitions(p.repetitions);
    b->ComputeStatistics("min", min_stat);
    b->ComputeStatistics("max", max_stat);
    return 0;
}

static bool filter_matches(const std::string &decorated) {
    std::string spec = benchmark::GetBenchmarkFilter();
    bool negate = !spec.empty() && spec[0] == '-';
    if (negate) spec = spec.substr(1);
    if (spec.empty() || spec == "all") spec = ".";
    try {
        return std::regex_search(decorated, std::regex(spec, std::regex::extended)) != negate;
    } catch (const std::regex_error &) {
        return true;  // Google Benchmark itself reports a bad filter
    }
}

bool gb_is_selected(const char *name) {
    for (const Entry &e : g_entries)
        if (e.name == name) return filter_matches(e.decorated);
    return false;
}

bool gb_filter_matches(const char *name) {
    return filter_matches(decorate(name, gb_policy{0, 0, 0, false}));
}

int gb_selected_count(void) {
    int n = 0;
    for (const Entry &e : g_entries) n += gb_is_selected(e.name.c_str());
    return n;
}

int gb_run(void) {
    std::unique_ptr<benchmark::BenchmarkReporter> inner;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    if (g_format == "json")
        inner.reset(new benchmark::JSONReporter());
    else if (g_format == "csv")
        inner.reset(new benchmark::CSVReporter());
    else
        inner.reset(new benchmark::ConsoleReporter(isatty(STDOUT_FILENO)
                                                       ? benchmark::ConsoleReporter::OO_Defaults
                                                       : benchmark::ConsoleReporter::OO_Tabular));
#pragma GCC diagnostic pop
    CollectingReporter collector(inner.get());
    size_t ran = benchmark::RunSpecifiedBenchmarks(&collector);

    g_results.clear();
    for (const std::string &name : g_order) {
        const Collected &c = g_collected[name];
        gb_result r;
        std::memset(&r, 0, sizeof r);
        r.name = name.c_str();
        r.error = c.error;
        r.error_message = c.error_message.c_str();
        r.repetitions = (int)c.times.size();
        r.iterations = c.iterations;
        if (!c.times.empty()) {
            r.median_s = c.have_median ? c.median : median_of(c.times);
            r.min_s = c.have_min ? c.min : min_stat(c.times);
            r.max_s = c.have_max ? c.max : max_stat(c.times);
        } else if (c.have_median) {
            // --benchmark_report_aggregates_only: only the aggregates were reported
            r.median_s = c.median;
            r.min_s = c.have_min ? c.min : c.median;
            r.max_s = c.have_max ? c.max : c.median;
            r.repetitions = (int)c.repetitions;
        } else {
            r.error = true;
            if (c.error_message.empty()) r.error_message = "no measurement was reported";
        }
        g_results.push_back(r);
    }
    return (int)ran;
}

int gb_result_count(void) { return (int)g_results.size(); }

const gb_result *gb_result_at(int i) {
    return i >= 0 && i < (int)g_results.size() ? &g_results[(size_t)i] : nullptr;
}

const gb_result *gb_result_find(const char *name) {
    for (const gb_result &r : g_results)
        if (std::strcmp(r.name, name) == 0) return &r;
    return nullptr;
}

void gb_shutdown(void) {
    g_results.clear();
    g_order.clear();
    g_collected.clear();
    benchmark::ClearRegisteredBenchmarks();
    g_entries.clear();
    benchmark::Shutdown();
}

bool gb_keep_running(gb_state *state) {
    return reinterpret_cast<benchmark::State *>(state)->KeepRunning();
}
void gb_pause_timing(gb_state *state) { reinterpret_cast<benchmark::State *>(state)->PauseTiming(); }
void gb_resume_timing(gb_state *state) {
    reinterpret_cast<benchmark::State *>(state)->ResumeTiming();
}
void gb_set_iteration_time(gb_state *state, double seconds) {
    reinterpret_cast<benchmark::State *>(state)->SetIterationTime(seconds);
}
void gb_skip_with_error(gb_state *state, const char *message) {
    reinterpret_cast<benchmark::State *>(state)->SkipWithError(message);
}
bool gb_error_occurred(const gb_state *state) {
    return reinterpret_cast<const benchmark::State *>(state)->error_occurred();
}
void gb_set_counter(gb_state *state, const char *name, double value, bool rate) {
    reinterpret_cast<benchmark::State *>(state)->counters[name] =
        benchmark::Counter(value, rate ? benchmark::Counter::kIsIterationInvariantRate
                                       : benchmark::Counter::kDefaults);
}
void gb_set_label(gb_state *state, const char *label) {
    reinterpret_cast<benchmark::State *>(state)->SetLabel(label);
}

}  // extern "C"
