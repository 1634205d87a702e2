#include "config.h"
#include "ui/actions.h"

#include <curses.h>
#include <stdio.h>

static const struct action_info table[] = {
	{ ACT_HELP, "help", 1, "F1, ?", "説明", "Help", "キーの一覧を表示します", "show the keys" },
	{ ACT_BACK, "back", 2, "F2, Esc Esc", "戻る", "Back", "前の画面に戻ります (入力は保存されます)",
	  "go back to the previous screen (what you typed is kept)" },
	{ ACT_NEW, "new", 3, "F3", "新規", "New", "新しい記録を作ります", "create a new record" },
	{ ACT_COPY_PREV, "copy-previous", 4, "F4", "複写", "Copy",
	  "同じ申請者の前回の意見書を写して新しい下書きを作ります",
	  "copy the applicant's previous opinion into a new draft" },
	{ ACT_SEARCH, "search", 5, "F5", "検索", "Find", "絞り込み条件を入力します", "filter the list" },
	{ ACT_PAGE_PREV, "page-prev", 6, "F6, PgUp", "前頁", "PgUp", "前の頁へ", "previous page" },
	{ ACT_PAGE_NEXT, "page-next", 7, "F7, PgDn", "次頁", "PgDn", "次の頁へ", "next page" },
	{ ACT_CHECK, "check", 8, "F8", "点検", "Check", "すべての項目を点検し、問題の一覧を出します",
	  "check every item and list the problems" },
	{ ACT_FINALIZE, "finalize", 9, "F9", "確定", "Final",
	  "点検して確定します (意見書は医師のみ)", "check and finalize (opinions: doctors only)" },
	{ ACT_SEND, "send", 10, "F10, Esc 0", "送信", "Send", "確定した文書を送信します",
	  "send finalized documents" },
	{ ACT_CANCEL, "cancel", 11, "F11, Esc -", "取消", "Stop",
	  "送信フォルダに置く前の送信を取り消します", "cancel a send before publication" },
	{ ACT_SAVE, "save", 12, "F12, Esc =", "登録", "Save", "入力を保存します", "save what you typed" },
	{ ACT_NEXT_FIELD, "next-field", 0, "Tab, Enter", NULL, NULL, "次の項目へ", "next field" },
	{ ACT_PREV_FIELD, "prev-field", 0, "Shift-Tab", NULL, NULL, "前の項目へ", "previous field" },
	{ ACT_UP, "up", 0, "Up", NULL, NULL, "上へ", "move up" },
	{ ACT_DOWN, "down", 0, "Down", NULL, NULL, "下へ", "move down" },
	{ ACT_LEFT, "left", 0, "Left", NULL, NULL, "左へ", "move left" },
	{ ACT_RIGHT, "right", 0, "Right", NULL, NULL, "右へ", "move right" },
	{ ACT_HOME, "home", 0, "Home, Ctrl-A", NULL, NULL, "行頭へ", "start of the line" },
	{ ACT_END, "end", 0, "End, Ctrl-E", NULL, NULL, "行末へ", "end of the line" },
	{ ACT_DELETE, "delete", 0, "Delete, Ctrl-D", NULL, NULL, "一文字削除", "delete a character" },
	{ ACT_BACKSPACE, "backspace", 0, "Backspace", NULL, NULL, "前の一文字を削除",
	  "delete the character before the cursor" },
	{ ACT_OPEN, "open", 0, "Enter", NULL, NULL, "選んだものを開きます", "open the selected item" },
	{ ACT_TOGGLE, "toggle", 0, "Space", NULL, NULL, "チェックボックスを切り替えます; 数字で選択肢を選びます",
	  "toggle a check box; a digit chooses a code" },
	{ ACT_REFRESH, "refresh", 0, "Ctrl-L", NULL, NULL, "画面を描き直します", "redraw the screen" },
	{ ACT_QUIT, "quit", 2, "F2 (menu), q", "終了", "Quit", "終了します", "quit" },
	/* after ACT_COPY_PREV: F4 reads as 前回コピー; the result detail shows it as 修正 */
	{ ACT_CORRECT, "correct", 4, "F4 (result detail)", "修正", "Correct",
	  "送信結果の詳細で、選んだエラーの項目を開いて修正します",
	  "on a result's detail: open the document at the item of the selected error to correct it" },
	{ ACT_OPINIONS, "opinions", 0, "o (applicants)", NULL, NULL, "選んだ申請者の意見書の一覧を開きます",
	  "open the opinions of the selected applicant" },
	{ ACT_NEW_INVOICE, "new-invoice", 0, "i (opinions)", NULL, NULL, "選んだ意見書の請求書を作ります",
	  "create the invoice for the selected opinion" },
	{ ACT_RETRY, "retry", 0, "r (send queue)", NULL, NULL, "選んだ送信失敗を今すぐ再試行します",
	  "retry the selected failed publication now" },
};

const struct action_info *action_info(enum action a)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].id == a)
			return &table[i];
	return NULL;
}

const struct action_info *action_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

enum action action_for_key(int is_key, unsigned key)
{
	if (is_key) {
		if (key >= (unsigned)KEY_F(1) && key <= (unsigned)KEY_F(12)) {
			int fk = (int)key - KEY_F0;
			for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
				if (table[i].fkey == fk)
					return table[i].id;
		}
		switch (key) {
		case KEY_BTAB: return ACT_PREV_FIELD;
		case KEY_UP: return ACT_UP;
		case KEY_DOWN: return ACT_DOWN;
		case KEY_LEFT: return ACT_LEFT;
		case KEY_RIGHT: return ACT_RIGHT;
		case KEY_HOME: return ACT_HOME;
		case KEY_END: return ACT_END;
		case KEY_DC: return ACT_DELETE;
		case KEY_BACKSPACE: return ACT_BACKSPACE;
		case KEY_NPAGE: return ACT_PAGE_NEXT;
		case KEY_PPAGE: return ACT_PAGE_PREV;
		case KEY_ENTER: return ACT_NEXT_FIELD;
		}
		return ACT_NONE;
	}
	switch (key) {
	case '\t': return ACT_NEXT_FIELD;
	case '\r': case '\n': return ACT_NEXT_FIELD;
	case 0x7f: case 0x08: return ACT_BACKSPACE;
	case 0x01: return ACT_HOME;
	case 0x05: return ACT_END;
	case 0x04: return ACT_DELETE;
	case 0x0c: return ACT_REFRESH;
	}
	return ACT_NONE;
}

void action_print_man(void)
{
	size_t n;
	const struct action_info *t = action_table(&n);
	printf(".SH KEYS\n");
	for (size_t i = 0; i < n; i++)
		printf(".TP\n.B %s\n%s (%s)\n", t[i].keys, t[i].help_en, t[i].help_ja);
}
