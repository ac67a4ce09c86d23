/**
 * @file cidr.h  Address prefixes for --trust
 */

struct cidr {
	struct sa net;       /**< network address (port ignored)  */
	unsigned bits;       /**< prefix length                    */
};

int  cidr_decode(struct cidr *c, const struct pl *pl);
bool cidr_match(const struct cidr *c, const struct sa *addr);
bool cidr_list_match(const struct cidr *v, size_t n, const struct sa *addr);
