/*
 * cli_proof.h: the audit log's Merkle proofs on the command line.
 *
 *   toolgate audit checkpoint STATE_DIR [--key PUB]
 *       prints the latest checkpoint (a C2SP signed note), after verifying it
 *   toolgate audit prove LOG --seq N [--checkpoint FILE] [--key PUB]
 *       the inclusion proof of record N, JSON: {seq, leaf_index, tree_size,
 *       leaf_hash, root, inclusion_proof: [base64...], checkpoint, origin};
 *       with --checkpoint, in the tree that checkpoint signed (checked first)
 *   toolgate audit consistency OLD_CHECKPOINT NEW_CHECKPOINT LOG [--key PUB]
 *       the consistency proof between two checkpoints, JSON: {origin,
 *       old_size, new_size, old_root, new_root, consistency_proof, consistent};
 *       exit 1 when the newer does not extend the older
 * PUB defaults to STATE_DIR/keys/audit.pub beside the log (or the state dir).
 * Exit codes as the other audit commands: 0 ok, 1 invalid, 2 usage.
 */
#ifndef TOOLGATE_CLI_PROOF_H
#define TOOLGATE_CLI_PROOF_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

int cli_audit_checkpoint(int argc, char **argv);
int cli_audit_prove(int argc, char **argv);
int cli_audit_consistency(int argc, char **argv);

/* Read and verify a checkpoint file (signature by key_path's key under the
   checkpoint's origin), parsed into origin, size and root.  0 or -1. */
int cli_read_checkpoint(const char *path, const char *key_path, char *origin, size_t on,
                        uint64_t *size, unsigned char root[32], struct tg_error *err);

/* `audit verify --checkpoint`: the log holds at least the checkpoint's
   records and its first ones hash to the checkpoint's root.  0 or -1, err
   naming the first missing record or the rewrite. */
int cli_verify_against_checkpoint(const char *log, const char *cp, const char *key, struct tg_error *err);

#endif
