/**
 * @file methods.h  The push methods, one row each
 */

const struct dlv_method *dlv_method(enum plan_kind k);
