/**
 * @file src/receiver/page.h  Page-mode pushes: MESSAGE
 */

struct bodypush;
struct receiver_conf;
struct sip;
struct sip_msg;
struct trust;

/** What a MESSAGE needs; the handler's arg */
struct page {
	struct sip *sip;
	const struct receiver_conf *conf;
	const struct trust *trust;
	struct bodypush *bodypush;
};

void page_message(const struct sip_msg *msg, void *arg);
