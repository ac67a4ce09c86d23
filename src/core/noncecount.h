/**
 * @file noncecount.h  Digest replay: the nonce counts seen (RFC 7616 §3.4)
 *
 * A digest response proves the password only for the nonce, method and
 * URI it covers: anyone who saw one could put it on a request of their
 * own for as long as the nonce lives. So every response must carry
 * qop=auth and a nonce count (nc), and each nonce's count must grow.
 * The same UDP request again (its MD5 equal) within a transaction's
 * lifetime is a retransmission and passes. Only responses already
 * verified are recorded; at most max nonces are kept, and a nonce older
 * than one dropped to make room is stale.
 */

struct noncecount;

int noncecount_alloc(struct noncecount **ncp, uint32_t max,
		     uint32_t max_age);
int noncecount_use(struct noncecount *nc, const struct pl *authz,
		   const uint8_t *msg_md5, uint64_t now);
uint32_t noncecount_size(const struct noncecount *nc);
