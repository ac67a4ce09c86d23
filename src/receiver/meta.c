/**
 * @file meta.c  A push's metadata as "name: value" lines (the dir:
 *               handler's .meta sidecar)
 */
#include <re.h>
#include <sippush/receiver.h>


/* Printed to a growing buffer: whatever the lengths, every line is
 * there (a fixed buffer once left the file empty when it overflowed) */
int receiver_meta_print(struct re_printf *pf, const struct receiver_push *p)
{
	int err;

	if (!p)
		return EINVAL;
	err = re_hprintf(pf, "app: %s\nfrom: %s\ncontent-type: %s\n"
			 "method: %s\npush-id: %s\n", p->app, p->from,
			 p->ctype, p->method, p->push_id);
	if (!err && p->error)
		err = re_hprintf(pf, "error: %s\n", p->error);
	if (!err && p->filename)
		err = re_hprintf(pf, "filename: %s\n", p->filename);
	if (!err && p->disposition)
		err = re_hprintf(pf, "disposition: %s\n", p->disposition);
	return err;
}
