/**
 * @file papnotify.h  PAP result notifications
 */

int papnotify_init(struct sender *s);
int papnotify_load(struct sender *s);
