/* secret_driver_exec.c - the exec rotation driver (secret_driver.h): runs
 * the operator's program (an absolute path, no shell) once per operation
 * with one JSON request on stdin and reads one JSON answer from stdout
 * (docs/secrets.md, "Rotation drivers"). The program runs in its own
 * process group with a minimal environment (PATH, LANG), no other open
 * descriptor and stderr on /dev/null; it is killed (the whole group) when
 * the target's timeout passes or its answer exceeds ROT_MAX_ANSWER bytes.
 * Only an exit status of 0 with a well-formed answer counts. */
#include "broker/secret_driver.h"
#include "core/errbuf.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	pid_t pid;
	int in, out; /* the child's stdin (we write) and stdout (we read) */
} child_t;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child_exec(const rot_target_t *t, char *const argv[], char *const envp[], int in, int out)
{
	int null = open("/dev/null", O_WRONLY);
	setpgid(0, 0);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || (null >= 0 && dup2(null, 2) < 0))
		_exit(127);
	close_range(3, ~0U, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	execve(t->command, argv, envp);
	_exit(127);
}

static int spawn(const rot_target_t *t, child_t *ch, char *err, size_t err_len)
{
	static char *const envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", NULL};
	char *argv[ROT_MAX_ARGS + 2];
	int to_child[2], from_child[2];
	size_t n = 0;
	argv[n++] = (char *)t->command;
	for (size_t i = 0; i < ROT_MAX_ARGS && t->args[i] != NULL; i++)
		argv[n++] = t->args[i];
	argv[n] = NULL;
	if (pipe2(to_child, O_CLOEXEC) != 0)
		goto fail;
	if (pipe2(from_child, O_CLOEXEC) != 0) {
		close(to_child[0]);
		close(to_child[1]);
		goto fail;
	}
	ch->pid = fork();
	if (ch->pid == 0)
		child_exec(t, argv, envp, to_child[0], from_child[1]);
	close(to_child[0]);
	close(from_child[1]);
	if (ch->pid < 0) {
		close(to_child[1]);
		close(from_child[0]);
		goto fail;
	}
	setpgid(ch->pid, ch->pid); /* also here: no race with the kill below */
	ch->in = to_child[1];
	ch->out = from_child[0];
	fcntl(ch->in, F_SETFL, O_NONBLOCK);
	fcntl(ch->out, F_SETFL, O_NONBLOCK);
	return 0;
fail:
	tg_errf(err, err_len, "cannot start %s: %s", t->command, strerror(errno));
	return -1;
}

/* Writes what is left of the request; SIGPIPE (a program that exits
 * without reading) is blocked on this thread and consumed. -1 when the
 * pipe broke (the program's exit status and answer tell why). */
static int write_some(child_t *ch, const char *req, size_t len, size_t *done)
{
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	ssize_t w = write(ch->in, req + *done, len - *done);
	int saved = errno;
	if (w < 0 && saved == EPIPE) {
		struct timespec zero = {0, 0};
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (w > 0)
		*done += (size_t)w;
	return w < 0 && saved != EAGAIN && saved != EINTR ? -1 : 0;
}

typedef enum { RUN_DONE, RUN_TIMEOUT, RUN_TOO_BIG } run_end_t;

/* Feeds the request and collects the answer until the program closes its
 * stdout, the deadline passes or the answer is too large. */
static run_end_t exchange(child_t *ch, const char *req, size_t req_len, char *ans, size_t *ans_len,
			  int64_t deadline)
{
	size_t written = 0;
	for (;;) {
		struct pollfd p[2] = {{.fd = ch->out, .events = POLLIN}, {.fd = ch->in, .events = POLLOUT}};
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return RUN_TIMEOUT;
		int rc = poll(p, ch->in >= 0 ? 2 : 1, (int)(left > 1000 ? 1000 : left));
		if (rc < 0 && errno != EINTR)
			return RUN_TIMEOUT;
		if (ch->in >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			if (write_some(ch, req, req_len, &written) != 0 || written == req_len) {
				close(ch->in); /* EOF: the request is complete */
				ch->in = -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(ch->out, ans + *ans_len, ROT_MAX_ANSWER + 1 - *ans_len);
			if (r == 0)
				return RUN_DONE;
			if (r > 0 && (*ans_len += (size_t)r) > ROT_MAX_ANSWER)
				return RUN_TOO_BIG;
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				return RUN_DONE;
		}
	}
}

/* The program's exit status, waiting at most until deadline; the whole
 * group is killed when it has not exited by then. -1 when killed. */
static int reap(pid_t pid, int64_t deadline, bool kill_now)
{
	int status = 0;
	for (;;) {
		if (!kill_now) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid)
				return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			if (w < 0)
				return -1;
			if (mono_ms() < deadline) {
				struct timespec ten_ms = {0, 10 * 1000 * 1000};
				nanosleep(&ten_ms, NULL);
				continue;
			}
		}
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
}

static drv_rc_t run(const drv_ctx_t *c, rot_op_t op, const char *new_value, const char *old_value, char *err,
		    size_t err_len)
{
	const rot_target_t *t = c->target;
	char ans[ROT_MAX_ANSWER + 1];
	size_t ans_len = 0;
	child_t ch = {.in = -1, .out = -1};
	drv_rc_t rc = DRV_ERROR;
	char *req = rotation_request_json(op, c->secret, t->config, new_value, old_value);
	if (req == NULL) {
		tg_errf(err, err_len, "cannot build the request");
		return DRV_ERROR;
	}
	int64_t deadline = mono_ms() + t->timeout * 1000;
	if (spawn(t, &ch, err, err_len) != 0) {
		secret_driver_wipe(req);
		return DRV_ERROR;
	}
	run_end_t end = exchange(&ch, req, strlen(req), ans, &ans_len, deadline);
	secret_driver_wipe(req);
	if (ch.in >= 0)
		close(ch.in);
	close(ch.out);
	int status = reap(ch.pid, deadline, end != RUN_DONE);
	if (end == RUN_TIMEOUT)
		tg_errf(err, err_len, "%s %s: no answer within %llds; killed", t->command, rotation_op_name(op),
			(long long)t->timeout);
	else if (end == RUN_TOO_BIG)
		tg_errf(err, err_len, "%s %s: protocol error: the answer is larger than %d bytes; killed",
			t->command, rotation_op_name(op), ROT_MAX_ANSWER);
	else if (status < 0)
		tg_errf(err, err_len, "%s %s: did not exit within %llds; killed", t->command, rotation_op_name(op),
			(long long)t->timeout);
	else if (status != 0)
		tg_errf(err, err_len, "%s %s: exited with status %d", t->command, rotation_op_name(op), status);
	else {
		char why[700];
		rc = secret_driver_answer(op, ans, ans_len, new_value, old_value, why, sizeof why);
		if (rc != DRV_OK)
			tg_errf(err, err_len, "%s %s: %s", t->command, rotation_op_name(op), why);
	}
	sodium_memzero(ans, sizeof ans);
	return rc;
}

static drv_rc_t exec_set(const drv_ctx_t *c, const char *new_value, const char *old_value, char *err,
			 size_t err_len)
{
	return run(c, ROT_OP_SET, new_value, old_value, err, err_len);
}

static drv_rc_t exec_verify(const drv_ctx_t *c, const char *value, char *err, size_t err_len)
{
	return run(c, ROT_OP_VERIFY, value, NULL, err, err_len);
}

static drv_rc_t exec_revoke(const drv_ctx_t *c, const char *old_value, const char *current, char *err,
			    size_t err_len)
{
	return run(c, ROT_OP_REVOKE, current, old_value, err, err_len);
}

const secret_driver_t secret_driver_exec = {exec_set, exec_verify, exec_revoke};
