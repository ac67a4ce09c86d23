/**
 * @file methods.c  The push methods, one row each: how a delivery starts,
 *                  how one in flight is cancelled, what ends with it
 *
 * The queue (deliver.c) starts the head of a destination's queue with its
 * row's start(); the method reports what the attempt came to once,
 * through the target's report handler. A new method is a file with its
 * start (and cancel) and a row here.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/param.h"
#include "engine.h"
#include "message.h"
#include "methods.h"
#include "refer.h"
#include "session.h"
#include "subscription.h"


static const struct dlv_method methods[PLAN_KINDS] = {
	[PLAN_NONE]    = {"MESSAGE", message_start, NULL, NULL, false},
	[PLAN_MESSAGE] = {"MESSAGE", message_start, NULL, NULL, false},
	[PLAN_NOTIFY]  = {"NOTIFY", sub_notify_start, NULL, sub_notify_ended, true},
	[PLAN_REFER]   = {"REFER", refer_start, NULL, NULL, false},
	[PLAN_SESSION] = {"INVITE", session_start, session_cancel, NULL,
			  false},
};


/** The row of a kind */
const struct dlv_method *dlv_method(enum plan_kind k)
{
	return &methods[(size_t)k < PLAN_KINDS ? k : PLAN_MESSAGE];
}
