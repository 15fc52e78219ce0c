/* secret_driver.c - what the rotation drivers share (secret_driver.h):
 * dispatch by kind, the admin password file, the meaning of an exec or
 * webhook answer. */
#include "broker/secret_driver.h"
#include "core/errbuf.h"
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASSWORD_FILE_MAX 1024

const secret_driver_t *secret_driver_for(const rot_target_t *t)
{
	switch (t->kind) {
	case ROT_DRIVER_POSTGRES:
		return &secret_driver_pg;
	case ROT_DRIVER_EXEC:
		return &secret_driver_exec;
	case ROT_DRIVER_WEBHOOK:
		return &secret_driver_webhook;
	}
	return NULL;
}

void secret_driver_wipe(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

char *secret_driver_read_password_file(const char *path, char *err, size_t err_len)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		tg_errf(err, err_len, "cannot open password_file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		tg_errf(err, err_len, "password_file %s must be a regular file readable by its owner only "
				      "(chmod 600)", path);
		goto out;
	}
	if ((buf = calloc(1, PASSWORD_FILE_MAX + 2)) == NULL)
		goto out;
	n = read(fd, buf, PASSWORD_FILE_MAX + 1);
	if (n < 0 || n > PASSWORD_FILE_MAX) {
		tg_errf(err, err_len, "password_file %s: %s", path, n < 0 ? strerror(errno) : "longer than 1 KiB");
		sodium_memzero(buf, PASSWORD_FILE_MAX + 2);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
		tg_errf(err, err_len, "password_file %s is empty", path);
		free(buf);
		buf = NULL;
	}
out:
	close(fd);
	return buf;
}

/* Every occurrence of value in text replaced by "[redacted]" (in place,
 * truncating when it does not fit). */
static void redact(char *text, size_t cap, const char *value)
{
	static const char mark[] = "[redacted]";
	size_t vlen = value != NULL ? strlen(value) : 0;
	char *hit;
	if (vlen == 0)
		return;
	while ((hit = strstr(text, value)) != NULL) {
		size_t tail = strlen(hit + vlen);
		size_t at = (size_t)(hit - text);
		if (at + sizeof mark - 1 + tail + 1 > cap)
			tail = cap > at + sizeof mark ? cap - at - sizeof mark : 0;
		memmove(hit + sizeof mark - 1, hit + vlen, tail);
		memcpy(hit, mark, sizeof mark - 1);
		hit[sizeof mark - 1 + tail] = '\0';
	}
}

drv_rc_t secret_driver_answer(rot_op_t op, const char *body, size_t len, const char *new_value,
			      const char *old_value, char *err, size_t err_len)
{
	bool ok = false;
	char text[ROT_MAX_ANSWER_ERROR + 16], why[300];
	if (rotation_answer_parse(body, len, &ok, text, why, sizeof why) != 0) {
		tg_errf(err, err_len, "protocol error: %s", why);
		return DRV_ERROR;
	}
	redact(text, sizeof text, new_value);
	redact(text, sizeof text, old_value);
	if (ok)
		return DRV_OK;
	if (op == ROT_OP_VERIFY) {
		tg_errf(err, err_len, "the credential was refused%s%s", text[0] ? ": " : "", text);
		return DRV_REFUSED;
	}
	tg_errf(err, err_len, "the target refused the %s%s%s", rotation_op_name(op), text[0] ? ": " : "", text);
	return DRV_ERROR;
}
