"""arXiv's subject classes (https://arxiv.org/category_taxonomy), as papers carry them:
what a digest may follow. Archives without subclasses (hep-th, quant-ph...) are classes
themselves; those with them (cs, math...) are not, since no paper is filed as plain `cs`.
Older aliases that papers still carry (math.IT, cs.NA...) are listed too."""

from __future__ import annotations

_SUBJECTS = {
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "cs": "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS NA"
    " NE NI OH OS PF PL RO SC SD SE SI SY",
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "math": "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR QA"
    " RA RT SG SP ST",
    "nlin": "AO CD CG PS SI",
    "physics": "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an"
    " ed-ph flu-dyn gen-ph geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph",
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "stat": "AP CO ME ML OT TH",
}
_WHOLE = "astro-ph cond-mat gr-qc hep-ex hep-lat hep-ph hep-th math-ph nucl-ex nucl-th quant-ph"
# Archives merged away long ago whose codes old papers still carry.
_RETIRED = (
    "acc-phys adap-org alg-geom ao-sci atom-ph bayes-an chao-dyn chem-ph cmp-lg comp-gas dg-ga"
    " funct-an mtrl-th patt-sol plasm-ph q-alg solv-int supr-con"
)

CATEGORIES: frozenset[str] = frozenset(
    [
        f"{archive}.{subject}"
        for archive, subjects in _SUBJECTS.items()
        for subject in subjects.split()
    ]
    + _WHOLE.split()
    + _RETIRED.split()
)
_BY_FOLDED = {code.casefold(): code for code in CATEGORIES}


def known_category(code: str) -> str | None:
    """The category as arXiv spells it (`cs.cl` -> `cs.CL`), or None for no such class."""
    return _BY_FOLDED.get(code.strip().casefold())


def archive_subjects(archive: str) -> list[str]:
    """The classes of an archive (`cs` -> cs.AI, cs.AR, ...), for saying what to pick."""
    return [f"{archive}.{s}" for s in _SUBJECTS.get(archive.strip().casefold(), "").split()]
