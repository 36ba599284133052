"""(to be written)"""

from flask import Blueprint

bp = Blueprint("stocktakes", __name__, template_folder="templates", url_prefix="/reserves/stocktakes")
