"""The command line's parser, in Chinese: argparse's own words (usage:, options, "the following
arguments are required", "invalid choice"…) are English, and an admin who mistypes a command
read them as the whole answer. Its headings and its one-line errors are said here instead.
"""
from __future__ import annotations

import argparse
import re

# argparse's error messages (Python 3.11–3.13) -> ours; an unforeseen one is shown as it is
_ERRORS = (
    (r"the following arguments are required: (.+)", r"缺少必需的参数：\1"),
    (r"unrecognized arguments: (.+)", r"无法识别的参数：\1"),
    (r"argument (?:命令|子命令): invalid choice: '(.*)' \(choose from (.+)\)", r"没有命令“\1”，可用的命令：\2"),
    (r"argument (\S+): invalid choice: '(.*)' \(choose from (.+)\)", r"参数 \1 不能是“\2”，可选：\3"),
    (r"argument (\S+): invalid int value: '(.*)'", r"参数 \1 应为整数，“\2”不是"),
    (r"argument (\S+): invalid float value: '(.*)'", r"参数 \1 应为数字，“\2”不是"),
    (r"argument (\S+): expected one argument", r"参数 \1 后面须写一个值"),
    (r"argument (\S+): expected at least one argument", r"参数 \1 后面须至少写一个值"),
    (r"argument (\S+): expected at most one argument", r"参数 \1 后面至多写一个值"),
    (r"argument (\S+): not allowed with argument (\S+)", r"参数 \1 不能与 \2 同时使用"),
    (r"argument (\S+): ignored explicit argument '(.*)'", r"参数 \1 不带值，“\2”多余"),
    (r"ambiguous option: (\S+) could match (.+)", r"参数 \1 不明确，可能是 \2"),
    (r"one of the arguments (.+) is required", r"须给出 \1 之一"),
)


def chinese(message: str) -> str:
    for english, ours in _ERRORS:
        if re.fullmatch(english, message):
            return re.sub(english, ours, message).replace("'", "")
    return message


class _Help(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)   # '': a subcommand's prog


class Parser(argparse.ArgumentParser):
    """argparse.ArgumentParser with Chinese headings and errors (its subcommands are Parsers too)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Help)
        add_help = kwargs.pop("add_help", True)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title, self._optionals.title = "位置参数", "选项"
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示本帮助并退出")

    def error(self, message: str):
        self.exit(2, f"错误：{chinese(message)}（{self.prog} --help 查看用法）\n")
