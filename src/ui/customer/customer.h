/* Customer view internals shared by view.c, edit.c and forms.c. */
#ifndef PROVDESK_UI_CUSTOMER_H
#define PROVDESK_UI_CUSTOMER_H

#include "ui_internal.h"

enum { CV_DETAILS, CV_USERS, CV_PBX, CV_ROLES, CV_ACTIVITY, CV_TABS };

struct cview {
	int64_t id;
	pd_customer c;
	bool loaded;
	char err[600];
	int tab;
	pd_user *users;
	size_t n_users;
	pd_pbx pbx;
	bool has_pbx;
	pd_pbx_status status;
	bool has_status;
	pd_audit *audit;
	size_t n_audit;
	pd_outbox *outbox;
	size_t n_outbox;
	pd_sub_account *subs; /* PBX tab: the sub-accounts auto-provisioning found */
	size_t n_subs;
	size_t sel[CV_TABS], top[CV_TABS];
	/* H5: the Users tab's filter (sel[CV_USERS] stays an index into users;
	 * ushown lists the users the filter lets through) and the Activity
	 * tab's list + detail pane (shared with the global activity screen) */
	struct ui_list_filter ufilter;
	size_t *ushown, n_ushown;
	struct ui_audit_pane act;
};

void cv_load(struct ui_app *app, struct cview *v);
/* Details editing (edit.c): a form screen over a copy of c. */
void ui_edit_customer(struct ui_app *app, const pd_customer *c);
void cv_actions(struct ui_app *app, struct cview *v);
/* forms.c */
void cv_user_form(struct ui_app *app, struct cview *v);
/* The selected user of the Users tab: edit (console users) / remove (asks). */
void cv_user_edit_form(struct ui_app *app, struct cview *v);
void cv_user_remove(struct ui_app *app, struct cview *v);
void cv_pbx_form(struct ui_app *app, struct cview *v, bool create);
void cv_role_pick(struct ui_app *app, struct cview *v);
/* pbx_test.c (H5): the driver's test of a connection as typed, in the
 * background; arg: the pd_pbx to test (copied). */
extern const struct ui_screen_ops ui_pbx_test_ops;
/* Choices for a product type field: sold in country, allowing platform. */
void ui_product_choices(struct ui_app *app, const char *country, const char *platform,
                        struct ui_choice **out, size_t *n);
/* Country type-ahead over pd_geo_search (French and English names). */
void ui_country_search(void *ctx, const char *query, struct ui_choice **out, size_t *n);
void ui_zone_choices(struct ui_app *app, const char *country, struct ui_choice **out, size_t *n);

#endif
