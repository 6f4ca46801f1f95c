/*
 * fsync_bench.c: the machine's raw durable-write rate for `make bench` (docs/BENCHMARKS.md).
 *
 * The physical bound that grouped commits must beat: how many times a second
 * one 4 KiB write followed by fdatasync() completes, in a file of the given
 * directory (the file system civgrid's database lives on). Two patterns:
 *   overwrite  the same 4 KiB block again and again (a reused WAL);
 *   append     a growing file (a new WAL: the size must reach the disk too).
 * Each run lasts about --seconds; the file is removed afterwards.
 * Output: JSON lines in the record format of tests/bench/run.sh.
 *
 *   fsync_bench [--dir DIR] [--runs N] [--seconds S]
 */
#include "base/cg.h"

#include <fcntl.h>
#include <jansson.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One run: write+fdatasync for about seconds; returns the rate per second, or -1. */
static double run_once(const char *path, bool append, double seconds)
{
    static char block[4096];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    long count = 0;
    double t0, dt;

    if (fd < 0) {
        fprintf(stderr, "fsync_bench: cannot create '%s': %s\n", path, strerror(errno));
        return -1;
    }
    memset(block, 'c', sizeof(block));
    /* The overwrite pattern starts from a block that is already on disk. */
    if (!append && (pwrite(fd, block, sizeof(block), 0) != (ssize_t)sizeof(block) || fsync(fd))) {
        goto fail;
    }
    t0 = now_s();
    do {
        off_t at = append ? (off_t)count * (off_t)sizeof(block) : 0;

        block[0] = (char)count;
        if (pwrite(fd, block, sizeof(block), at) != (ssize_t)sizeof(block) || fdatasync(fd)) {
            goto fail;
        }
        count++;
        dt = now_s() - t0;
    } while (dt < seconds);
    close(fd);
    unlink(path);
    return (double)count / dt;
fail:
    fprintf(stderr, "fsync_bench: write or fdatasync on '%s' failed: %s\n", path, strerror(errno));
    close(fd);
    unlink(path);
    return -1;
}

static void emit(const char *id, const char *what, const double *rate, int runs,
                 const char *static_source)
{
    json_t *samples = json_array();
    char *s;

    for (int r = 0; r < runs; r++) {
        json_array_append_new(samples, json_real(rate[r]));
    }
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "type", "result", "id", id,
                            "what", what, "size", "4 KiB + fdatasync", "unit", "fsyncs/s", "better",
                            "higher", "samples", samples);
    if (static_source) {
        json_object_set_new(rec, "static_ref",
                            json_pack("{s:f, s:s, s:s}", "value", 5700.0, "unit", "fsyncs/s",
                                      "source", static_source));
    }
    s = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(10));
    CG_ASSERT(s);
    puts(s);
    fflush(stdout);
    free(s);
    json_decref(rec);
}

int main(int argc, char **argv)
{
    const char *dir = ".";
    int runs = 3;
    double seconds = 1.0;
    char path[4096];
    double rate[2][100];

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dir")) {
            dir = argv[i + 1];
        } else if (!strcmp(argv[i], "--runs")) {
            runs = (int)strtol(argv[i + 1], NULL, 10);
        } else if (!strcmp(argv[i], "--seconds")) {
            seconds = strtod(argv[i + 1], NULL);
        } else {
            fprintf(stderr, "usage: fsync_bench [--dir DIR] [--runs N] [--seconds S]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > 100 || !(seconds > 0 && seconds <= 60)) {
        fprintf(stderr, "fsync_bench: --runs is 1 to 100, --seconds above 0 and at most 60\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/fsync_bench.%ld.tmp", dir, (long)getpid());
    fprintf(stderr, "  FSYNC   %d x %.1f s in %s\n", runs, seconds, dir);
    /* Interleaved, so that a slow moment of the disk does not fall on one pattern only. */
    for (int r = 0; r < runs; r++) {
        for (int p = 0; p < 2; p++) {
            rate[p][r] = run_once(path, p == 1, seconds / 2);
            if (rate[p][r] < 0) {
                return 1;
            }
        }
    }
    emit("fsync.overwrite", "raw durable write, same block (write + fdatasync)", rate[0], runs,
         "perf-notes: fsync ~150-200 us on this kind of machine");
    emit("fsync.append", "raw durable write, appending (write + fdatasync)", rate[1], runs,
         "perf-notes: fsync ~150-200 us on this kind of machine");
    return 0;
}
