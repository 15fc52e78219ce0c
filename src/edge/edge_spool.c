/* edge_spool.c - the edge's audit spool and its shipper (edge_spool.h).
 *
 * FILES, in state_dir:
 *   audit-spool.jsonl   one record per line (core/edge_audit.h), edge_seq
 *                       growing by one from line to line
 *   audit-cursor.json   {"acknowledged": N}: an edge_seq the broker
 *                       acknowledged; replaced whole (tmp, fsync,
 *                       rename, fsync of the directory)
 * Records above the cursor are the backlog. edge_seq continues from the
 * larger of the last line and the cursor, so it survives restarts and
 * compactions.
 *
 * THE CURSOR FILE may lag the broker's acknowledgements by up to
 * CURSOR_MS: it is written when the backlog is empty, before the spool
 * file drops anything (truncation, compaction), at close, and otherwise
 * at most every CURSOR_MS (two fsyncs and a rename per batch made the
 * shipper wait longer than the broker took to record the batch). After a
 * crash the records between the file's cursor and the broker's are sent
 * again; the broker skips what it holds (exactly once by edge_seq) and
 * acknowledges its own cursor.
 *
 * DURABILITY. An append is one write(2) under the mutex and no fsync: the
 * record is in the kernel before the decision's answer goes out, so a
 * crash of the process loses nothing. The shipper thread fdatasyncs at
 * most every SYNC_MS, so a power loss can lose the last ~200 ms of
 * records and leave a torn last line, which open cuts off
 * (core/spool_lines.h) and logs.
 *
 * SHIPPING. The shipper thread sends the backlog in edge_seq order, up to
 * audit_batch records (and BUDGET_MAX bytes, halved on 413) at once, to
 * POST /v1/edges/audit; it wakes on an append, then lingers LINGER_MS
 * after a batch that was not full so that records travel together, and
 * backs off from BACKOFF_MIN_MS to BACKOFF_MAX_MS while the broker fails.
 * The answer's "acknowledged" moves the cursor (the cursor file first,
 * then memory). A 409 names the next record the broker expects: sent
 * again from there when the spool still holds it.
 *
 * ANCHORING. A spool without a cursor file is new (a first start, or
 * state_dir lost while the broker remembers the edge, whose records it
 * would skip as repeats). Before it ships anything, the shipper asks the
 * broker where this edge's records end (an empty batch) and numbers the
 * spool's records after that, then writes the cursor file. An
 * acknowledgement beyond anything the spool wrote later means the same
 * and is answered the same way: nothing is skipped, nothing is lost.
 *
 * COMPACTION, by the shipper after the cursor file is durable: when every
 * record is acknowledged the file is truncated; when the acknowledged
 * prefix is at least COMPACT_MIN bytes and no smaller than the backlog,
 * the backlog is copied to a new file (most of it without the mutex)
 * that replaces the old one. So the file holds at most about twice the
 * backlog, and spool_max bounds the backlog: an append that would pass it
 * fails and the caller denies. */
#include "edge/edge_spool.h"
#include "core/edge_audit.h"
#include "core/spool_lines.h"
#include "edge/edge_client.h"
#include "shell/log.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_FILE "audit-spool.jsonl"
#define CURSOR_FILE "audit-cursor.json"
#define TICK_MS 100
#define SYNC_MS 200
#define CURSOR_MS 1000
#define LINGER_MS 100
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define SHIP_TIMEOUT_S 30
#define CLOSE_TIMEOUT_S 2
#define BUDGET_MAX (64 * 1024 - 64) /* a batch's body fits 64 KiB: the broker's default and largest max_body */
#define COMPACT_MIN (1024 * 1024)
#define COPY_CHUNK (64 * 1024)
#define MAX_CURSOR_FILE 256

struct edge_spool {
	pthread_mutex_t mu;
	pthread_cond_t wake; /* an append or close wakes the shipper */
	char dir[PATH_MAX], path[PATH_MAX], cursor_path[PATH_MAX];
	int64_t max_bytes;
	/* under mu (the shipper, the only thread that changes fd, acked and
	 * acked_off, also reads them without it) */
	int fd;            /* O_APPEND */
	size_t size;       /* bytes in the file: complete records only */
	int64_t next_seq;  /* the next record's edge_seq */
	int64_t acked;     /* the broker's cursor */
	size_t acked_off;  /* where the records above acked start */
	bool broken;       /* a failed write could not be undone: appends fail */
	bool full_logged;
	bool stopping;
	bool idle;         /* the shipper waits for an append (it has no backlog) */
	/* the shipper's own */
	struct edge *e;
	pthread_t thread;
	bool running;
	size_t synced;     /* bytes known on disk */
	int64_t synced_ms;
	int64_t cursor_on_file; /* the acknowledged edge_seq the cursor file holds */
	int64_t cursor_ms;      /* when it was written */
	size_t budget;
	bool failing;      /* logged that shipping fails; log the recovery */
	bool anchored;     /* numbered after what the broker holds: a cursor file exists */
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *num(char *buf, size_t len, long long v)
{
	snprintf(buf, len, "%lld", v);
	return buf;
}

/* ---- files ---- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_at(int fd, char *p, size_t n, size_t off)
{
	while (n > 0) {
		ssize_t r = pread(fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
		off += (size_t)r;
	}
	return 0;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Replaces path with text, durably: tmp, fsync, rename, fsync(dir). */
static int replace_file(const char *dir, const char *path, const char *text)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0 ? 0 : -1;
	close(fd);
	if (rc == 0 && rename(tmp, path) == 0 && sync_dir(dir) == 0)
		return 0;
	unlink(tmp);
	return -1;
}

static int write_cursor(edge_spool_t *s, int64_t acked)
{
	char text[64];
	snprintf(text, sizeof text, "{\"acknowledged\":%lld}\n", (long long)acked);
	if (replace_file(s->dir, s->cursor_path, text) == 0) {
		s->cursor_on_file = acked;
		s->cursor_ms = mono_ms();
		return 0;
	}
	log_event(LOG_ERROR, "cannot write the audit spool's cursor; keeping the records", "file", s->cursor_path,
		  "reason", strerror(errno), NULL);
	return -1;
}

/* The cursor file's value: 0 when there is none; -1 with why when it
 * cannot be read or is not a cursor. */
static int read_cursor(edge_spool_t *s, int64_t *acked, char *why, size_t why_len)
{
	char text[MAX_CURSOR_FILE + 1];
	*acked = 0;
	int fd = open(s->cursor_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0; /* a new spool: not anchored */
	s->anchored = true;
	ssize_t n = fd >= 0 ? read(fd, text, MAX_CURSOR_FILE) : -1;
	if (fd >= 0)
		close(fd);
	json_t *doc = n >= 0 ? json_loadb(text, (size_t)n, 0, NULL) : NULL;
	json_t *v = json_object_get(doc, "acknowledged");
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= EDGE_AUDIT_MAX_SEQ)
		*acked = json_integer_value(v);
	int rc = json_is_integer(v) && json_object_size(doc) == 1 && *acked == json_integer_value(v) ? 0 : -1;
	json_decref(doc);
	if (rc != 0)
		snprintf(why, why_len, "%s is not an audit spool cursor ({\"acknowledged\": N}); it was damaged or "
			 "edited: compare the spool with the broker's audit chain before removing it", s->cursor_path);
	return rc;
}

static char *read_whole(int fd, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size >= SIZE_MAX)
		return NULL;
	*len = (size_t)st.st_size;
	char *buf = malloc(*len + 1);
	if (buf != NULL && read_at(fd, buf, *len, 0) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- open ---- */

/* Reads the spool file: cuts a torn tail, finds the backlog. */
static int load(edge_spool_t *s, char *why, size_t why_len)
{
	size_t len = 0;
	spool_scan_t scan;
	char *buf = read_whole(s->fd, &len);
	char a[32], b[32];
	if (buf == NULL) {
		snprintf(why, why_len, "cannot read %s: %s", s->path, strerror(errno));
		return -1;
	}
	char problem[300];
	int rc = spool_scan(buf, len, s->acked, &scan, problem, sizeof problem);
	free(buf);
	if (rc != 0) {
		log_event(LOG_ERROR, "the audit spool is damaged: refusing to start", "file", s->path, "problem", problem,
			  "acknowledged", num(a, sizeof a, (long long)s->acked), "remedy",
			  "its records above the acknowledged edge_seq may not be in the broker's chain: compare, then "
			  "move the file aside to start a new spool", NULL);
		snprintf(why, why_len, "the audit spool %s is damaged: %s", s->path, problem);
		return -1;
	}
	if (scan.good_len < len) {
		if (ftruncate(s->fd, (off_t)scan.good_len) != 0) {
			snprintf(why, why_len, "cannot cut the torn end of %s: %s", s->path, strerror(errno));
			return -1;
		}
		log_event(LOG_WARN, "the audit spool ended in a torn record (a crash while writing); cut it off", "file",
			  s->path, "bytes_cut", num(a, sizeof a, (long long)(len - scan.good_len)), NULL);
	}
	s->size = s->synced = scan.good_len;
	s->acked_off = scan.backlog_off;
	if (scan.n_records > 0 && s->acked < scan.first_seq - 1) {
		/* the cursor lags the file's start (a compaction's cursor was lost
		 * with the power): ship what the file holds; the broker names any gap */
		log_event(LOG_WARN, "the audit spool starts after its cursor; shipping from its first record", "first",
			  num(a, sizeof a, (long long)scan.first_seq), "cursor", num(b, sizeof b, (long long)s->acked),
			  NULL);
		s->acked = scan.first_seq - 1;
	}
	s->next_seq = (scan.last_seq > s->acked ? scan.last_seq : s->acked) + 1;
	return 0;
}

edge_spool_t *edge_spool_open(const char *dir, int64_t max_bytes, char *why, size_t why_len)
{
	edge_spool_t *s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	s->fd = -1;
	s->max_bytes = max_bytes;
	s->budget = BUDGET_MAX;
	if (snprintf(s->dir, sizeof s->dir, "%s", dir) >= (int)sizeof s->dir ||
	    snprintf(s->path, sizeof s->path, "%s/%s", dir, SPOOL_FILE) >= (int)sizeof s->path ||
	    snprintf(s->cursor_path, sizeof s->cursor_path, "%s/%s", dir, CURSOR_FILE) >= (int)sizeof s->cursor_path) {
		snprintf(why, why_len, "state_dir is too long a path");
		free(s);
		return NULL;
	}
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof tmp, "%s.tmp", s->path); /* a compaction cut short */
	unlink(tmp);
	if (read_cursor(s, &s->acked, why, why_len) != 0)
		goto fail;
	s->cursor_on_file = s->acked;
	if ((s->fd = open(s->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0) {
		snprintf(why, why_len, "cannot open %s: %s", s->path, strerror(errno));
		goto fail;
	}
	if (load(s, why, why_len) != 0)
		goto fail;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	s->synced_ms = mono_ms();
	return s;
fail:
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return NULL;
}

/* ---- appending ---- */

/* Undoes a write that failed part-way, so the file never holds a torn
 * record followed by good ones; a spool that cannot be repaired refuses
 * every append from then on. mu held. */
static void undo_write(edge_spool_t *s)
{
	int err = errno;
	if (ftruncate(s->fd, (off_t)s->size) != 0) {
		s->broken = true;
		log_event(LOG_ERROR, "the audit spool cannot be written or repaired; privileged decisions fail closed",
			  "file", s->path, "reason", strerror(errno), NULL);
	} else {
		log_event(LOG_ERROR, "cannot write to the audit spool; the decision fails closed", "file", s->path,
			  "reason", strerror(err), NULL);
	}
}

int edge_spool_append(edge_spool_t *s, const audit_event_t *ev)
{
	char *body = edge_audit_body(ev, now_us());
	char line[EDGE_AUDIT_MAX_LINE + 32];
	int rc = -1;
	if (body == NULL)
		return -1;
	pthread_mutex_lock(&s->mu);
	size_t n = edge_audit_line(body, s->next_seq, line, sizeof line);
	if (n == 0 || s->broken) {
		/* nothing to write */
	} else if ((int64_t)(s->size - s->acked_off + n) > s->max_bytes) {
		if (!s->full_logged)
			log_event(LOG_ERROR, "the audit spool is full (spool_max): privileged decisions fail closed until "
				  "the broker takes the records", "file", s->path, NULL);
		s->full_logged = true;
	} else if (write_all(s->fd, line, n) != 0) {
		undo_write(s);
	} else {
		s->size += n;
		s->next_seq++;
		rc = 0;
		if (s->idle) { /* wake the shipper only when it has nothing to do */
			s->idle = false;
			pthread_cond_signal(&s->wake);
		}
	}
	pthread_mutex_unlock(&s->mu);
	free(body);
	return rc;
}

int64_t edge_spool_backlog(edge_spool_t *s)
{
	pthread_mutex_lock(&s->mu);
	int64_t n = s->next_seq - 1 - s->acked;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ---- the shipper's view of the file ---- */

/* edge_seq of a spool line: every line starts {"edge_seq":N, (written by
 * edge_audit_line, or checked on open). */
static int64_t line_seq(const char *line)
{
	static const char prefix[] = "{\"edge_seq\":";
	return strncmp(line, prefix, sizeof prefix - 1) == 0 ? strtoll(line + sizeof prefix - 1, NULL, 10) : 0;
}

/* The offset of the record with edge_seq seq, scanning from off (a line
 * start) up to end; -1 when the file holds no such record there. */
static int64_t find_record(edge_spool_t *s, size_t off, size_t end, int64_t seq)
{
	char *buf = malloc(COPY_CHUNK + EDGE_AUDIT_MAX_LINE + 1);
	int64_t found = -1;
	while (buf != NULL && found < 0 && off < end) {
		size_t n = end - off < COPY_CHUNK + EDGE_AUDIT_MAX_LINE ? end - off : COPY_CHUNK + EDGE_AUDIT_MAX_LINE;
		if (read_at(s->fd, buf, n, off) != 0)
			break;
		buf[n] = '\0';
		size_t p = 0;
		char *nl;
		while (found < 0 && (nl = memchr(buf + p, '\n', n - p)) != NULL) {
			if (line_seq(buf + p) == seq)
				found = (int64_t)(off + p);
			p = (size_t)(nl - buf) + 1;
		}
		if (p == 0)
			break; /* no line end: not a spool */
		off += p;
	}
	free(buf);
	return found;
}

/* Brings the cursor file up to the memory's cursor when it lags. */
static int cursor_flush(edge_spool_t *s)
{
	return s->cursor_on_file == s->acked ? 0 : write_cursor(s, s->acked);
}

/* Moves the cursor to acked, whose next record starts at off. The file
 * first when it is written now: at once when durable, else when acked
 * empties the backlog or CURSOR_MS have passed (THE CURSOR FILE); the
 * file is brought up to date before compaction drops anything. */
static int advance(edge_spool_t *s, int64_t acked, size_t off, bool durable)
{
	pthread_mutex_lock(&s->mu);
	bool drained = acked >= s->next_seq - 1;
	pthread_mutex_unlock(&s->mu);
	if ((durable || drained || mono_ms() - s->cursor_ms >= CURSOR_MS) && write_cursor(s, acked) != 0)
		return -1;
	pthread_mutex_lock(&s->mu);
	s->acked = acked;
	s->acked_off = off;
	if (s->full_logged && (int64_t)(s->size - off) < s->max_bytes) {
		s->full_logged = false;
		log_event(LOG_INFO, "the audit spool has room again", "file", s->path, NULL);
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* Copies [from, end) of the spool to fd. */
static int copy_range(edge_spool_t *s, int fd, size_t from, size_t end)
{
	char *buf = malloc(COPY_CHUNK);
	int rc = buf != NULL ? 0 : -1;
	for (size_t off = from; rc == 0 && off < end; off += COPY_CHUNK) {
		size_t n = end - off < COPY_CHUNK ? end - off : COPY_CHUNK;
		rc = read_at(s->fd, buf, n, off) == 0 && write_all(fd, buf, n) == 0 ? 0 : -1;
	}
	free(buf);
	return rc;
}

/* Makes the new file (open on fd, at tmp) the spool, its records starting
 * where the old file had from. mu held. */
static int install(edge_spool_t *s, int fd, const char *tmp, size_t from)
{
	if (fdatasync(fd) != 0 || rename(tmp, s->path) != 0 || sync_dir(s->dir) != 0)
		return -1;
	close(s->fd);
	s->fd = fd;
	s->size -= from;
	s->acked_off -= from;
	s->synced = s->size;
	return 0;
}

/* Copies the backlog into a new file that replaces the spool; appends wait
 * only for the records that came during the copy. */
static void compact_tail(edge_spool_t *s)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof tmp, "%s.tmp", s->path);
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	pthread_mutex_lock(&s->mu);
	size_t from = s->acked_off, end = s->size;
	pthread_mutex_unlock(&s->mu);
	int rc = fd >= 0 && copy_range(s, fd, from, end) == 0 && fdatasync(fd) == 0 ? 0 : -1;
	if (rc == 0) {
		pthread_mutex_lock(&s->mu);
		rc = copy_range(s, fd, end, s->size) == 0 ? install(s, fd, tmp, from) : -1;
		pthread_mutex_unlock(&s->mu);
	}
	if (rc != 0) {
		log_event(LOG_WARN, "cannot compact the audit spool; it keeps growing until it can", "file", s->path,
			  "reason", strerror(errno), NULL);
		if (fd >= 0)
			close(fd);
		unlink(tmp);
	}
}

/* Drops what the broker holds: truncates a wholly acknowledged file, or
 * copies the backlog out of a large acknowledged prefix; the cursor file
 * covers what is dropped first. */
static void compact(edge_spool_t *s)
{
	pthread_mutex_lock(&s->mu);
	size_t prefix = s->acked_off, backlog = s->size - s->acked_off;
	pthread_mutex_unlock(&s->mu);
	bool truncate = prefix > 0 && backlog == 0, tail = prefix >= COMPACT_MIN && prefix >= backlog;
	if (!(truncate || tail) || cursor_flush(s) != 0)
		return;
	if (!truncate) {
		compact_tail(s);
		return;
	}
	pthread_mutex_lock(&s->mu);
	if (s->acked_off == s->size && ftruncate(s->fd, 0) == 0) /* no append came meanwhile */
		s->size = s->acked_off = s->synced = 0;
	pthread_mutex_unlock(&s->mu);
}

/* fdatasync at most every SYNC_MS, when something was appended. */
static void sync_due(edge_spool_t *s)
{
	int64_t now = mono_ms();
	if (now - s->synced_ms < SYNC_MS)
		return;
	pthread_mutex_lock(&s->mu);
	size_t size = s->size;
	pthread_mutex_unlock(&s->mu);
	if (size != s->synced && fdatasync(s->fd) == 0)
		s->synced = size;
	s->synced_ms = now;
}

/* ---- renumbering after the broker's memory of the edge ---- */

/* The records of text with edge_seq first, first + 1, ... into a new
 * malloc'd text (*count records); NULL on a line that does not read back. */
static char *renumbered(const char *text, size_t len, int64_t first, size_t *out_len, int64_t *count)
{
	*count = 0;
	size_t cap = len + (len / 16 + 1) * 24; /* a line is longer than 16 bytes; its seq grows by < 24 */
	char *out = malloc(cap), line[EDGE_AUDIT_MAX_LINE + 32];
	size_t o = 0;
	for (size_t p = 0; out != NULL && p < len;) {
		const char *nl = memchr(text + p, '\n', len - p);
		const char *comma = nl ? memchr(text + p, ',', (size_t)(nl - (text + p))) : NULL;
		size_t n = 0;
		if (comma != NULL) { /* {"edge_seq":N,REST} -> {REST} */
			char *body = NULL;
			if (asprintf(&body, "{%.*s", (int)(nl - comma - 1), comma + 1) >= 0) {
				n = edge_audit_line(body, first + (*count)++, line, sizeof line);
				free(body);
			}
		}
		if (n == 0 || o + n > cap) {
			free(out);
			return NULL;
		}
		memcpy(out + o, line, n);
		o += n;
		p = (size_t)(nl - text) + 1;
	}
	*out_len = o;
	return out;
}

/* Numbers the backlog from acked + 1 in a new file and moves the cursor
 * to acked (appends wait: this happens once after a spool starts over).
 * why says when, in the log; NULL logs nothing. */
static int renumber(edge_spool_t *s, int64_t acked, const char *why)
{
	char tmp[PATH_MAX + 8], a[32], b[32];
	int rc = -1;
	snprintf(tmp, sizeof tmp, "%s.tmp", s->path);
	pthread_mutex_lock(&s->mu);
	size_t from = s->acked_off, len = s->size - from, new_len = 0;
	char *text = malloc(len + 1), *fresh = NULL;
	int fd = -1;
	int64_t n = 0;
	if (text != NULL && read_at(s->fd, text, len, from) == 0 &&
	    (fresh = renumbered(text, len, acked + 1, &new_len, &n)) != NULL &&
	    (fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600)) >= 0 &&
	    write_all(fd, fresh, new_len) == 0 && install(s, fd, tmp, from) == 0) {
		s->size = new_len;
		s->synced = new_len;
		s->next_seq = acked + 1 + n;
		s->acked = acked;
		rc = 0;
		if (why != NULL)
			log_event(LOG_WARN, why, "acknowledged", num(a, sizeof a, (long long)acked), "records",
				  num(b, sizeof b, (long long)n), NULL);
	} else if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	pthread_mutex_unlock(&s->mu);
	free(text);
	free(fresh);
	/* the cursor after the file: a crash between them ships the renumbered
	 * records from the cursor's older value, which the broker skips */
	return rc == 0 ? write_cursor(s, acked) : -1;
}

/* ---- shipping ---- */

typedef struct {
	char *body;      /* {"records":[...]} */
	size_t len;
	int64_t first, last; /* edge_seq of the first and last record sent */
	size_t end;      /* offset after the last record sent */
	bool full;       /* more records wait behind this batch */
} batch_t;

/* The next batch: the records from acked_off, at most audit_batch of them
 * and budget bytes (but at least one). 0 with nothing to send too (n = 0). */
static int batch_read(edge_spool_t *s, batch_t *b)
{
	size_t max = (size_t)(s->e->cfg.audit_batch < EDGE_AUDIT_MAX_BATCH ? s->e->cfg.audit_batch : EDGE_AUDIT_MAX_BATCH);
	memset(b, 0, sizeof *b);
	pthread_mutex_lock(&s->mu);
	size_t from = s->acked_off, end = s->size;
	pthread_mutex_unlock(&s->mu);
	if (from >= end)
		return 0;
	size_t want = end - from, cap = s->budget > EDGE_AUDIT_MAX_LINE ? s->budget : EDGE_AUDIT_MAX_LINE;
	size_t len = want < cap ? want : cap;
	static const char head[] = "{\"records\":[";
	char *body = malloc(sizeof head + len + 2);
	if (body == NULL || read_at(s->fd, body + sizeof head - 1, len, from) != 0) {
		free(body);
		return -1;
	}
	memcpy(body, head, sizeof head - 1);
	char *p = body + sizeof head - 1, *start = p, *nl;
	size_t n = 0;
	while (n < max && (nl = memchr(p, '\n', len - (size_t)(p - start))) != NULL) {
		if (n++ == 0)
			b->first = line_seq(p);
		b->last = line_seq(p);
		*nl = ',';
		p = nl + 1;
	}
	if (n == 0) { /* cannot be: the first line is complete and fits */
		free(body);
		return -1;
	}
	size_t used = (size_t)(p - start); /* the lines sent, '\n' now ',' */
	p[-1] = ']';
	*p++ = '}';
	*p = '\0';
	b->body = body;
	b->len = (size_t)(p - body);
	b->end = from + used;
	b->full = b->end < end;
	return 0;
}

/* The answer's "acknowledged", or "expected_edge_seq" of a 409; -1 when
 * it has none. */
static int64_t answer_seq(const edge_resp_t *r, const char *member)
{
	json_t *doc = json_loadb(r->body, r->len, 0, NULL);
	json_t *v = json_object_get(doc, member);
	int64_t seq = json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
	json_decref(doc);
	return seq;
}

/* The broker took the batch and holds everything up to acked. */
static int on_acknowledged(edge_spool_t *s, const batch_t *b, int64_t acked, char *why, size_t why_len)
{
	pthread_mutex_lock(&s->mu);
	int64_t last = s->next_seq - 1;
	size_t end = s->size;
	pthread_mutex_unlock(&s->mu);
	if (acked < b->last) {
		snprintf(why, why_len, "the broker acknowledged %lld, below the batch it took (to %lld)", (long long)acked,
			 (long long)b->last);
		return -1;
	}
	if (acked > last)
		return renumber(s, acked, "the broker holds more of this edge's audit records than this spool ever "
					  "wrote (state_dir started over): renumbered the unsent records after them");
	int64_t off = acked == b->last ? (int64_t)b->end : find_record(s, b->end, end, acked + 1);
	if (off < 0 && acked == last)
		off = (int64_t)end;
	if (off < 0) {
		snprintf(why, why_len, "record %lld is not in the spool", (long long)acked + 1);
		return -1;
	}
	return advance(s, acked, (size_t)off, false);
}

/* 409: the broker's chain ends before the batch; send again from the
 * record it expects when the spool still holds it. */
static int on_gap(edge_spool_t *s, int64_t expected, char *why, size_t why_len)
{
	pthread_mutex_lock(&s->mu);
	size_t end = s->size;
	pthread_mutex_unlock(&s->mu);
	int64_t off = expected >= 1 && expected <= s->acked ? find_record(s, 0, end, expected) : -1;
	if (off < 0) {
		snprintf(why, why_len, "the broker expects edge record %lld, which this spool no longer holds (was the "
			 "broker's store restored from a backup?)", (long long)expected);
		return -1;
	}
	return advance(s, expected - 1, (size_t)off, true);
}

static int post_batch(edge_spool_t *s, const char *body, size_t len, long timeout_s, edge_resp_t *r, char *why,
		      size_t why_len)
{
	return edge_broker_call(s->e, "POST", "/v1/edges/audit", "application/json", body, len, timeout_s, r, why,
				why_len);
}

/* Logs when shipping starts failing and when it works again. */
static void note_outcome(edge_spool_t *s, int rc, const char *why)
{
	if (rc != 0 && !s->failing)
		log_event(LOG_WARN, "cannot ship audit records to the broker; they stay in the spool", "reason", why, NULL);
	else if (rc == 0 && s->failing)
		log_event(LOG_INFO, "shipping audit records to the broker again", NULL);
	s->failing = rc != 0;
}

/* Asks the broker where this edge's records end and numbers a new spool's
 * records after that (ANCHORING above). */
static int anchor(edge_spool_t *s)
{
	static const char empty[] = "{\"records\":[]}";
	edge_resp_t r = {0};
	char why[300] = "";
	int rc = -1;
	if (post_batch(s, empty, sizeof empty - 1, SHIP_TIMEOUT_S, &r, why, sizeof why) == 0) {
		int64_t held = r.status == 200 ? answer_seq(&r, "acknowledged") : -1;
		if (held >= 0)
			rc = renumber(s, held, held == 0 ? NULL
				      : "a new audit spool while the broker holds records of this edge (state_dir "
					"started over): its records are numbered after them");
		else
			snprintf(why, sizeof why, "HTTP %ld: %.200s", r.status, r.body);
	}
	if (rc == 0)
		s->anchored = true;
	note_outcome(s, rc, why);
	edge_resp_free(&r);
	return rc;
}

/* One batch to the broker: 0 when it was taken (or there was none). */
static int ship_once(edge_spool_t *s, long timeout_s, bool *full)
{
	batch_t b;
	edge_resp_t r = {0};
	char why[300] = "";
	int rc = -1;
	*full = false;
	if (batch_read(s, &b) != 0) {
		snprintf(why, sizeof why, "cannot read the spool: %s", strerror(errno));
	} else if (b.body == NULL) {
		return 0;
	} else if (post_batch(s, b.body, b.len, timeout_s, &r, why, sizeof why) != 0) {
		/* why says it */
	} else if (r.status == 200) {
		int64_t acked = answer_seq(&r, "acknowledged");
		rc = acked >= 0 ? on_acknowledged(s, &b, acked, why, sizeof why) : -1;
		if (acked < 0)
			snprintf(why, sizeof why, "the broker's answer has no \"acknowledged\"");
		*full = b.full;
	} else if (r.status == 409 && answer_seq(&r, "expected_edge_seq") > 0) {
		rc = on_gap(s, answer_seq(&r, "expected_edge_seq"), why, sizeof why);
		*full = rc == 0;
	} else {
		if (r.status == 413 && s->budget > EDGE_AUDIT_MAX_LINE)
			s->budget /= 2;
		snprintf(why, sizeof why, "HTTP %ld: %.200s", r.status, r.body);
	}
	note_outcome(s, rc, why);
	edge_resp_free(&r);
	free(b.body);
	return rc;
}

/* Whether the shipper has something to do: anchor, or ship. mu held. */
static bool has_work(edge_spool_t *s)
{
	return !s->anchored || s->next_seq - 1 > s->acked;
}

/* Waits, unless a batch is due now: with no backlog for an append (or
 * close) up to TICK_MS; with a backlog that lingers, until it is due (at
 * most TICK_MS), woken by close only, so that appends meanwhile cost no
 * wake-up. False once the spool is closing. */
static bool wait_turn(edge_spool_t *s, int64_t due)
{
	pthread_mutex_lock(&s->mu);
	int64_t now = mono_ms();
	bool work = has_work(s);
	if (!s->stopping && !(work && now >= due)) {
		int64_t wait_ms = work && due - now < TICK_MS ? due - now : TICK_MS;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += wait_ms * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		s->idle = !work;
		pthread_cond_timedwait(&s->wake, &s->mu, &ts);
		s->idle = false;
	}
	bool go = !s->stopping;
	pthread_mutex_unlock(&s->mu);
	return go;
}

static void *ship_main(void *arg)
{
	edge_spool_t *s = arg;
	int64_t due = 0, backoff = BACKOFF_MIN_MS;
	bool full, work;
	pthread_setname_np(pthread_self(), "tg-edge-audit");
	while (wait_turn(s, due)) {
		sync_due(s);
		pthread_mutex_lock(&s->mu);
		work = has_work(s);
		pthread_mutex_unlock(&s->mu);
		if (!work || mono_ms() < due)
			continue;
		full = true;
		if (s->anchored ? ship_once(s, SHIP_TIMEOUT_S, &full) == 0 : anchor(s) == 0) {
			compact(s);
			due = full ? 0 : mono_ms() + LINGER_MS;
			backoff = BACKOFF_MIN_MS;
		} else {
			due = mono_ms() + backoff;
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
		}
	}
	if (s->anchored && ship_once(s, CLOSE_TIMEOUT_S, &full) == 0) /* one last attempt, bounded */
		compact(s);
	return NULL;
}

int edge_spool_start(edge_spool_t *s, struct edge *e)
{
	sigset_t all, old;
	s->e = e;
	/* no process-directed signal is ever delivered to this thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&s->thread, NULL, ship_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -1;
	s->running = true;
	return 0;
}

void edge_spool_close(edge_spool_t *s)
{
	if (s == NULL)
		return;
	if (s->running) {
		pthread_mutex_lock(&s->mu);
		s->stopping = true;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
		if (s->anchored)
			(void)cursor_flush(s); /* logs when it cannot */
	}
	if (fdatasync(s->fd) != 0)
		log_event(LOG_ERROR, "cannot sync the audit spool at exit", "file", s->path, "reason", strerror(errno),
			  NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->wake);
	free(s);
}
