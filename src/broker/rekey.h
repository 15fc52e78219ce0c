/* rekey.h - a new master key without downtime (`tollgate rekey`, POST
 * /v1/rekey; docs/secrets.md, Rekey). The steps, each durable before the
 * next, so that a crash anywhere leaves a broker that starts and finishes
 * the job:
 *   1. a new random key is written to MASTER_KEY_FILE.next (0600, fsync'd,
 *      renamed into place);
 *   2. the secret store wraps new data keys under it, and still opens the
 *      ones wrapped under the old key (secret_keys.h): reads go on;
 *   3. every secret's data key is re-wrapped under it, one transaction
 *      and one secret.rekeyed record per secret;
 *   4. the signing keys and the operators' TOTP secrets are re-sealed
 *      under it in one transaction (master_key.rekeyed) while the signers
 *      hold their locks, and the signers switch to it;
 *   5. MASTER_KEY_FILE.next is renamed over MASTER_KEY_FILE: from then on
 *      the old key opens nothing and is gone from disk and memory.
 * At start-up, a MASTER_KEY_FILE.next beside the key file means a rekey was
 * interrupted: the broker loads both and completes steps 3-5 before it
 * serves (rekey_resume). */
#ifndef TG_REKEY_H
#define TG_REKEY_H
#include "broker/broker.h"
#include "core/master_key.h"

/* The path of the next key beside the master key file. */
void rekey_next_path(const broker_t *b, char *out, size_t len);
/* Completes an interrupted rekey to next (the key in the .next file), the
 * broker's signers and secret keys already opened with whichever key their
 * data needs. 0, or -1 with err. */
int rekey_resume(broker_t *b, const uint8_t next[MASTER_KEY_LEN], char *err, size_t err_len);

#endif
