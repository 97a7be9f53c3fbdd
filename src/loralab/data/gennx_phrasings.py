"""Phrasing templates, surface vocabularies and canned answers for the GEN NX task.

A template's id is ``<family>.<lang>.<index>`` (e.g. ``node.create.ko.03``); its intent is
``<family>.<lang>``. Each intent's templates are split into a training and a held-out pool, so
an intent needs enough templates that both pools stay varied. Templates hold only literal text
and ``{slot}`` fields: every value the gold answer depends on comes from a slot, which lets the
generator inject typos into the literal text without ever touching a value. Korean templates
avoid particles right after a slot (은/는, 으로/로 depend on the value's last syllable)."""

from __future__ import annotations


def _t(block: str) -> list[str]:
    return [line.strip() for line in block.strip().splitlines() if line.strip()]


# family -> (required slots: every template must carry them, optional slots)
SLOTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "node.create": (("id", "xyz"), ()),
    "node.get": (("id",), ()),
    "node.delete": (("id",), ()),
    "elem.create": (("id", "etype", "i", "j", "matl", "sect"), ()),
    "elem.get": (("id",), ()),
    "elem.delete": (("id",), ()),
    "matl.create": (("id", "grade", "extra"), ("mtype",)),
    "sect.create": (("id", "sect"), ()),
    "cons.create": (("nodes", "ctype"), ()),
    "stld.create": (("name", "ltype", "desc"), ()),
    "cnld.create": (("node", "lcase", "loads"), ()),
    "bmld.create": (("elem", "lcase", "q", "dir"), ()),
    "anal.run": (("atype",), ()),
    "multi.nodes": (("points",), ()),
    "multi.frame": (("i", "pi", "j", "pj", "etype", "id", "matl", "sect"), ()),
    "multi.case_load": (("name", "ltype", "node", "loads"), ()),
    "multi.matl_sect": (("mid", "grade", "sid", "sect"), ("mtype",)),
    "multi.supports": (("nodes1", "ctype1", "nodes2", "ctype2"), ()),
    "multi.cleanup": (("eid", "nids"), ()),
    "mt.node_offset": (("ref", "new", "offset"), ()),
    "mt.elem_jnode": (("end", "lcase", "loads"), ()),
    "mt.elem_load": (("lcase", "q", "dir"), ()),
    "mt.case_load": (("node", "loads"), ()),
    "clarify.node_coords": (("id",), ()),
    "clarify.node_partial": (("id", "partial"), ()),
    "clarify.load_node": (("loads",), ("lcase",)),
    "clarify.load_case": (("node", "loads"), ()),
    "clarify.elem_nodes": (("id",), ("etype", "matl", "sect")),
    "clarify.support_type": (("nodes",), ()),
    "clarify.beam_load_value": (("elem",), ("lcase",)),
    "clarify.matl_grade": (("id",), ("mtype",)),
    "irrelevant": ((), ("city", "dish", "topic", "genre", "a", "b", "greet", "word", "excel", "team", "month", "n")),
}

PHRASINGS: dict[str, list[str]] = {
    # ---------------------------------------------------------------- single calls
    "node.create.ko": _t("""
        노드 {id}번 {xyz}에 만들어줘
        {xyz} 위치에 {id}번 노드 생성해 주세요
        절점 {id} 추가, 좌표 {xyz}
        노드 하나 추가해줘. 번호 {id}, 좌표 {xyz}
        {id}번 절점을 {xyz}에 찍어줘
        좌표 {xyz}에 노드 {id} 넣어주세요
        노드{id} 생성 {xyz}
        새 노드 {id}번, 위치는 {xyz}
        {xyz}에 {id}번 절점 하나 만들어 줄래?
        좌표 {xyz}, 번호 {id}번 — 노드 하나 생성해줘
        절점 추가 부탁드려요. 위치: {xyz} / 절점번호: {id}
        {xyz} 위치에 새 절점 만들어 주세요. 번호는 {id}번입니다
        노드 생성 - ID {id}, 좌표 {xyz}
        {xyz}에 노드 하나 찍어줘, 번호 {id}
        {id}번 노드를 {xyz}에 추가해 줄 수 있어요?
        노드 만들 거야. 위치 {xyz}, 번호는 {id}번으로 해줘
    """),
    "node.create.en": _t("""
        Create node {id} at {xyz}
        add a node {id} at {xyz} please
        Can you make node #{id} with coordinates {xyz}?
        new node {id}: {xyz}
        Put node {id} at {xyz}.
        I need a node at {xyz}, call it {id}
        Define node {id} located at {xyz}
        place a joint {id} at {xyz}
        Add node number {id}, coords {xyz}
        At {xyz}, create node {id}.
        Could you add a node at {xyz}? Use ID {id}.
        node id {id} / location {xyz} - add it
        Coordinates {xyz}, node number {id}: please create it
        I'd like a new joint at {xyz}; number it {id}.
        pls make a node at {xyz} with id {id}
        Add a node. ID: {id}. Location: {xyz}.
    """),
    "node.create.mixed": _t("""
        node {id}번 {xyz}에 create 해줘
        {xyz}에 node {id} 추가해줘
        노드 {id} add 해줘, coordinate는 {xyz}
        new node {id}번 만들어줘 {xyz}
        node {id} 생성 좀, 좌표 {xyz}
        좌표 {xyz}에 node {id} 하나 만들어
        {id}번 node를 {xyz}에 place 해줘
        create node {id} 좌표는 {xyz}
        절점 {id} position {xyz}에 추가
        좌표 {xyz}에 new node 하나, 번호는 {id}번
        node 추가 부탁: ID {id} / position {xyz}
        {xyz} 위치에 node 생성해줘, id {id}
        node 하나 create 해줄래? coords {xyz}, node number {id}
        {id}번 node 만들어 주세요, location은 {xyz}
        node {id} add plz, 위치 {xyz}
        joint 생성 - {xyz}, 번호 {id}
    """),
    "node.get.ko": _t("""
        노드 {id}번 좌표 알려줘
        {id}번 절점 정보 조회해줘
        노드 {id} 어디 있어?
        절점 {id}의 위치 확인 부탁해요
        노드 {id} 좌표값 좀 보여줘
        {id}번 노드 조회
        절점 {id}번 좌표가 어떻게 돼?
        {id}번 노드 위치 좀 확인해 주세요
        노드 {id} 좌표 정보 가져와 줄래?
        절점번호 {id} 위치 조회 부탁드립니다
        {id}번 노드 x, y, z 값이 뭐야?
        절점 좌표 확인 좀 해줘. 번호 {id}번
        노드번호 {id} — 현재 위치 조회
        {id}번 절점이 어디에 있는지 알 수 있을까요?
        좌표 조회 부탁드립니다 (노드 {id})
        노드 {id}번 좌표 뭐였지?
    """),
    "node.get.en": _t("""
        Get node {id}
        where is node {id}?
        show me the coordinates of node {id}
        look up node #{id}
        What are node {id}'s coordinates?
        fetch node {id} info
        can you tell me where joint {id} is located?
        pls check the position of node {id}
        I need the x, y, z of node #{id}
        Query node {id} and report its coordinates.
        Coordinates for node {id}, please.
        What's the location of node number {id}?
        node {id}: coords?
        Could you retrieve joint #{id} for me?
        Where's node {id} sitting? I need its coordinates.
        Read back node ID {id} from the model.
    """),
    "node.get.mixed": _t("""
        node {id} 좌표 좀 get 해줘
        노드 {id}번 coordinates 보여줘
        node {id} 정보 check 해줘
        {id}번 node 위치 query 해줘
        node {id}번 어디야?
        노드 {id} info 조회
        절점 {id}번 location 알려 주세요
        node {id} coordinate 확인 부탁해요
        {id}번 joint 좌표 좀 look up 해줄래?
        node #{id} position이 어떻게 돼?
        node 좌표 좀 알려줘, ID {id}
        절점 번호 {id} coordinates 확인 plz
        node #{id} 지금 어디 위치해 있어요?
        {id}번 노드 position 조회해 주실래요?
        노드 정보 get: {id}번
        joint {id} xyz 값 보여줘
    """),
    "node.delete.ko": _t("""
        노드 {id}번 삭제해줘
        {id}번 절점 지워줘
        노드 {id} 필요 없으니까 없애줘
        절점 {id} 삭제 부탁드립니다
        노드 {id} 제거
        {id}번 노드 빼줘
        절점 {id}번 모델에서 제거해 주세요
        노드 {id} 잘못 만들었어, 지워줄래?
        {id}번 절점 삭제 좀 해줘
        노드번호 {id} 삭제 부탁해요
        삭제할 노드: {id}번
        절점번호 {id} 지워 주실 수 있나요?
        모델에서 {id}번 노드 좀 삭제해줘
        노드 하나 지울게. 번호는 {id}번
        {id}번 절점 안 쓰니까 제거 부탁해요
        노드 삭제 - {id}
    """),
    "node.delete.en": _t("""
        delete node {id}
        remove node #{id} please
        Node {id} isn't needed anymore, delete it
        get rid of node {id}
        Please remove joint {id}.
        drop node {id}
        can you delete joint #{id}?
        I made node {id} by mistake, pls remove it
        Erase node {id} from the model.
        node {id} has to go, delete it please
        Node to delete: {id}
        Could you please delete node number {id}?
        remove the node with id {id}
        We don't use joint {id}, so delete it.
        Take node {id} out of the model please
        node {id} -> delete
    """),
    "node.delete.mixed": _t("""
        node {id}번 delete 해줘
        노드 {id} remove 해줘
        {id}번 node 지워줘
        node {id} 삭제 plz
        절점 {id} delete
        node {id} 필요없어 remove 해
        joint {id}번 삭제해 주세요
        노드 {id} 잘못 만들었어, delete 좀
        model에서 node {id} 제거해줘
        node #{id} 더 이상 필요 없어요, remove 부탁해요
        delete할 node: {id}번
        {id}번 절점 model에서 빼줘
        노드 번호 {id} remove 부탁드려요
        이 node 지워줘 - ID {id}
        node 하나 delete 할게요, {id}번
        joint #{id} 안 쓰니까 삭제 plz
    """),
    "elem.get.ko": _t("""
        요소 {id}번 정보 알려줘
        {id}번 부재 조회해줘
        요소 {id} 어떤 노드에 연결돼 있어?
        부재 {id} 속성 확인해 주세요
        요소 {id} 데이터 보여줘
        {id}번 엘리먼트 조회
        부재 {id}번 재질이랑 단면 뭐로 돼 있어?
        요소 {id} 어떤 타입인지 확인해줘
        {id}번 요소 양 끝 절점 번호 알려 주세요
        엘리먼트 {id} 정보 불러와 줄래?
        요소번호 {id} 정보 좀 보여줄래?
        {id}번 부재 연결 노드랑 단면 확인 부탁드려요
        부재 정보 조회: {id}번
        엘리먼트 {id}번 어떻게 정의돼 있는지 알려줘
        {id}번 요소 재질 뭐로 들어가 있어요?
        요소 {id} 상세 정보 확인
    """),
    "elem.get.en": _t("""
        get element {id}
        show element #{id}
        which nodes does element {id} connect?
        look up member {id}
        What's element {id}?
        fetch the data for element {id}
        what material and section does member {id} use?
        can you check element {id}'s type and nodes?
        pls pull up the properties of element #{id}
        I want to see elem {id}'s details
        Element ID {id} - what is it?
        Show me the details of member number {id}.
        element {id}: nodes, material, section?
        Could you look up elem #{id} for me?
        Which type is element {id}, and what does it connect?
        retrieve element {id} from the model pls
    """),
    "elem.get.mixed": _t("""
        element {id}번 정보 보여줘
        요소 {id} info get 해줘
        member {id} 조회 좀
        {id}번 element 어떤 node에 붙어있어?
        element {id} check 해줘
        부재 {id} data 보여줘
        element {id}번 material이랑 section 뭐야?
        요소 {id} type 확인 부탁해요
        {id}번 member 속성 look up 해줄래?
        elem {id} 연결 node 알려 주세요
        element 정보 조회 plz, {id}번
        부재 {id}번 nodes랑 material 확인해 주세요
        {id}번 요소 details 좀 보여줘
        elem #{id} 어떻게 정의돼 있어?
        요소번호 {id} type이랑 section 알려줘
        member ID {id} 조회 부탁드려요
    """),
    "elem.delete.ko": _t("""
        요소 {id}번 삭제해줘
        {id}번 부재 지워줘
        요소 {id} 없애 주세요
        부재 {id} 삭제 부탁해요
        엘리먼트 {id} 제거해
        {id}번 요소 빼줘
        부재 {id}번 잘못 넣었어, 지워줄래?
        요소번호 {id} 모델에서 제거해 주세요
        {id}번 엘리먼트 삭제 좀 해줘
        요소 {id} 이제 필요 없으니 삭제 부탁드립니다
        삭제할 요소: {id}번
        부재번호 {id} 지워 주실 수 있나요?
        모델에서 {id}번 부재 좀 없애줘
        요소 하나 지울게. 번호는 {id}번
        {id}번 엘리먼트 안 쓰니까 제거 부탁해요
        요소 삭제 - {id}
    """),
    "elem.delete.en": _t("""
        delete element {id}
        remove member {id}
        please delete element #{id}
        Element {id} is wrong, remove it
        get rid of element {id}
        drop elem {id}
        can you erase member #{id}?
        pls take element {id} out of the model
        I don't need element {id} anymore, delete it
        Element {id} should be removed.
        Element to delete: {id}
        Could you please remove element number {id}?
        delete the member with id {id}
        We're not using elem #{id}, so erase it.
        Take member {id} out, please
        element {id} -> remove
    """),
    "elem.delete.mixed": _t("""
        element {id}번 delete 해줘
        요소 {id} remove 좀
        {id}번 member 지워줘
        element {id} 삭제
        부재 {id} delete 해주세요
        elem {id} 필요없어 remove
        member {id}번 잘못 만들었어, 삭제해줄래?
        model에서 요소 {id} 빼 주세요
        element #{id} 이제 안 써, remove 부탁해요
        부재 {id} erase 좀 해줘
        delete할 element: {id}번
        {id}번 부재 model에서 빼 주세요
        요소번호 {id} remove 부탁드려요
        이 member 지워줘 - ID {id}
        element 하나 delete 할게요, {id}번
        elem #{id} 안 쓰니까 삭제 plz
    """),
    "elem.create.ko": _t("""
        노드 {i}-{j} 잇는 {etype} 요소 {id}번 만들어줘. 재질 {matl}, 단면 {sect}
        {etype} 부재 {id}번 추가해줘 (노드 {i}, {j} / 재질 {matl} / 단면 {sect})
        요소 {id}: {etype}, 절점 {i}에서 {j}까지, 재료 {matl}번, 단면 {sect}번
        {i}번과 {j}번 노드 사이에 {etype} 넣어줘. 요소번호 {id}, 재질 {matl}, 단면 {sect}
        재질 {matl} 단면 {sect}인 {etype} 요소 {id} 생성, 노드 {i} {j}
        요소 {id}번 추가, 타입 {etype}, i단 {i} j단 {j}, 재질 {matl} 단면 {sect}
        노드 {i}번이랑 {j}번 연결하는 {etype} 하나 만들어줘. 번호는 {id}, 재질 {matl}번 단면 {sect}번
        {etype} {id} 생성해 주세요: 노드 {i}→{j}, 재질 {matl}, 단면 {sect}
        요소 {id} 추가할게. 종류는 {etype}, 노드 {i}, {j}, 재료 {matl}, 단면 {sect}
        노드 {i}, {j} 사이에 {etype} 추가 — 재질 {matl}번, 단면 {sect}번, 요소번호 {id}
        재질 {matl}, 단면 {sect} 써서 {i}번→{j}번 {etype} 만들어줘. 번호 {id}번
        {etype} 하나 넣어 주세요. i단 노드 {i}, j단 노드 {j}, 단면 {sect}, 재질 {matl}, 번호 {id}
        단면 {sect}번 / 재질 {matl}번 / 절점 {i}-{j} / {etype} / 요소 {id}번
        {i}번 노드에서 {j}번 노드까지 {etype} 하나 그려줘. 요소 {id}번, 재료 {matl}, 단면 {sect}
        절점 {i}번과 {j}번을 잇는 {etype}, 요소번호는 {id}번으로 해줘. 재질 {matl} 단면 {sect}
        요소 생성 부탁드려요: 종류 {etype}, 연결 절점 {i}번·{j}번, 재질 {matl}, 단면 {sect}, ID {id}
    """),
    "elem.create.en": _t("""
        Create a {etype} element {id} from node {i} to node {j}, material {matl}, section {sect}
        add element {id}: {etype}, nodes {i}-{j}, matl {matl}, sect {sect}
        connect nodes {i} and {j} with a {etype} (element {id}, material {matl}, section {sect})
        New {etype} #{id} between node {i} and node {j} using material {matl} and section {sect}
        make elem {id} a {etype} from {i} to {j}, mat {matl} sec {sect}
        I need a {etype} between joints {i} and {j}; id {id}, material {matl}, section {sect}
        Define element {id} ({etype}) with i-node {i}, j-node {j}, material {matl}, section {sect}
        please add {etype} element {id} on nodes {i},{j} with material {matl} / section {sect}
        element {id}, type {etype}, nodes {i} and {j}, material id {matl}, section id {sect}
        Between nodes {i} and {j}, add a {etype} with material {matl}, section {sect}; element number {id}.
        material {matl}, section {sect}, nodes {i}->{j}, type {etype}, id {id} - create it
        Could you create a {etype} from joint {i} to joint {j}? Section {sect}, material {matl}, ID {id}.
        nodes {i}-{j} {etype}, mat {matl}, sec {sect}, elem #{id}
        New element please. Nodes: {i}, {j}. Type: {etype}. Material: {matl}. Section: {sect}. No. {id}.
        I want a {etype} (id {id}) spanning node {i} to node {j}; matl {matl}, sect {sect}
        Draw a {etype} from {i} to {j} and number it {id}, using section {sect} and material {matl}
    """),
    "elem.create.mixed": _t("""
        node {i}-{j} 잇는 {etype} element {id}번 만들어줘, material {matl} section {sect}
        {etype} {id}번 추가해줘 (node {i}, {j} / matl {matl} / sect {sect})
        element {id} create 해줘: {etype}, 노드 {i}에서 {j}, 재질 {matl}, 단면 {sect}
        {i}번 {j}번 node 사이에 {etype} 넣어줘, id {id}, material {matl}, section {sect}
        material {matl} section {sect}인 {etype} element {id} 생성, nodes {i} {j}
        요소 {id}번 type은 {etype}, i-node {i} j-node {j}, 재질 {matl} 단면 {sect}
        node {i}번이랑 {j}번 연결하는 {etype} 하나 add 해줘. 번호 {id}, matl {matl}, sect {sect}
        new element {id}: {etype}, {i}→{j}, 재질 {matl}번 단면 {sect}번
        {etype} element {id} 추가 plz, node {i}, {j}, material {matl}, section {sect}
        node {i}, {j} 사이에 {etype} 추가 — matl {matl}, sect {sect}, element 번호 {id}
        material {matl}번, section {sect}번 써서 {i}→{j} {etype} 만들어줘, ID {id}
        {etype} 하나 create 해 주세요. i-node {i}, j-node {j}, 단면 {sect}, 재질 {matl}, No. {id}
        sect {sect} / matl {matl} / nodes {i}-{j} / {etype} / 요소 {id}번
        {i}번 node에서 {j}번 node까지 {etype} 그려줘, element {id}번, material {matl}, section {sect}
        element 추가 부탁드려요: type {etype}, 연결 node {i}번·{j}번, 재질 {matl}번, 단면 {sect}번, ID {id}
        {etype} 좀 넣어줄래? element number {id}, nodes {i}, {j}, matl {matl} sect {sect}
    """),
    "matl.create.ko": _t("""
        재질 {id}번 {mtype} {grade}{extra} 추가해줘
        {grade} {mtype} 재료를 {id}번으로 정의해 주세요{extra}
        재료 {id} 추가: {mtype}, 등급 {grade}{extra}
        {id}번 재질은 {grade}{extra}
        새 재료 {id}번 만들어줘. {mtype} {grade}{extra}
        재질 {id} 생성 {mtype} {grade}{extra}
        {mtype} 재질 하나 추가해줘, 번호 {id}, 등급 {grade}{extra}
        재료번호 {id}에 {grade} {mtype} 넣어줘{extra}
        재질 {id}번 등록: {grade}{extra}
        {grade}{extra} 재질 추가해줘, 번호는 {id}번
        등급 {grade}{extra}인 {mtype} 재료 하나 만들어 주세요. 재질번호 {id}
        재료 등록 부탁드려요 — 번호 {id}, 종류 {mtype}, 등급 {grade}{extra}
        {mtype} {grade}{extra} 재질, {id}번에 넣어줘
        재질 정의: {id}번 = {grade}{extra}
        {id}번 재료 만들어 줄래? {mtype}, 등급 {grade}{extra}
        새 재질 하나 추가할게요. 등급은 {grade}{extra}, 번호는 {id}번이에요
    """),
    "matl.create.en": _t("""
        Add material {id}: {mtype} {grade}{extra}
        create a {mtype} material {id} with grade {grade}{extra}
        define material #{id} as {grade} {mtype}{extra}
        new material {id}, {mtype}, grade {grade}{extra}
        Material {id} should be {grade}{extra}
        please add {grade} {mtype} as material {id}{extra}
        I need material {id} set to {mtype} grade {grade}{extra}
        mat {id} = {grade}{extra}
        Register material number {id}, type {mtype}, grade {grade}{extra}
        Please set up {grade}{extra} as material {id}
        Could you define a {mtype} material, grade {grade}{extra}, with ID {id}?
        material: {mtype} / grade: {grade}{extra} / no. {id}
        Add {mtype} {grade}{extra} and number it {id}
        matl #{id}: {grade}{extra}
        I need a new material. Type {mtype}, grade {grade}{extra}. Its number is {id}.
        pls create material number {id} using {grade}{extra}
    """),
    "matl.create.mixed": _t("""
        material {id}번 {mtype} {grade}{extra} 추가해줘
        {grade} {mtype} material {id}번으로 define 해줘{extra}
        재질 {id} add: {mtype}, grade {grade}{extra}
        material {id}번은 {grade}{extra}
        new material {id}번 만들어, {mtype} {grade}{extra}
        {mtype} material 하나 create, id {id}, grade {grade}{extra}
        재료 {id}번 {grade}{extra} setting 해줘
        matl {id} 추가 {grade} {mtype}{extra}
        material number {id}에 {grade} 넣어줘{extra}
        {grade}{extra} material 추가해줘, 번호는 {id}번
        grade {grade}{extra}인 {mtype} 재료 하나 define 해 주세요. ID {id}
        material 등록 부탁드려요 — No. {id}, type {mtype}, 등급 {grade}{extra}
        {mtype} {grade}{extra} material, {id}번에 넣어줘
        matl 정의: {id}번 = {grade}{extra}
        {id}번 material create 해줄래? {mtype}, grade {grade}{extra}
        새 material 하나 add 할게요. grade는 {grade}{extra}, 번호는 {id}번
    """),
    "sect.create.ko": _t("""
        단면 {id}번 {sect} 정의해줘
        {sect} 단면 추가, 번호 {id}
        단면 {id} 만들어줘: {sect}
        {id}번 단면은 {sect}
        새 단면 {id}번 {sect} 등록해 주세요
        단면번호 {id}에 {sect} 넣어줘
        {sect} 단면 {id}번 하나 추가
        단면 {id} 생성 {sect}
        부재 단면 {id}번 설정해줘, {sect}
        {sect} 단면 하나 만들어 주세요. 번호는 {id}번으로요
        단면 추가 부탁해요 — 번호 {id}, 형상 {sect}
        {sect}, 이거 단면 {id}번으로 등록 좀
        단면 목록에 {id}번 하나 넣어줘. 치수는 {sect}
        단면ID {id} / 형상 {sect} / 신규 생성
        새로 쓸 단면이 {sect}인데 {id}번으로 만들어 줄래?
        단면 {id}번에 {sect} 형상 지정해 줄 수 있어요?
    """),
    "sect.create.en": _t("""
        define section {id} as {sect}
        Add section {id}: {sect}
        create a {sect} section with id {id}
        new section #{id}, {sect}
        Section {id} should be {sect}.
        please add {sect} as section {id}
        I need section {id} = {sect}
        make sect {id} {sect}
        Register section number {id} ({sect})
        {sect} section please, number it {id}
        Can you create section ID {id} with shape {sect}?
        sect #{id} -> {sect}
        New section needed: {sect}, use ID {id}.
        Set up a section for {sect} and give it number {id}
        section no. {id} | shape: {sect} | add
        I'll be using {sect}; save it as section {id}, thanks
    """),
    "sect.create.mixed": _t("""
        section {id}번 {sect} define 해줘
        {sect} section 추가, id {id}
        단면 {id} create: {sect}
        section {id}번은 {sect}
        new section {id}번 {sect} 등록
        sect {id}에 {sect} 넣어줘
        {sect} 단면 하나 add 해줘, 번호 {id}
        section {id} 생성 {sect}
        단면 {id}번 shape {sect} setting
        {sect} section 하나 만들어줘, ID는 {id}
        section 추가 부탁: No. {id}, shape {sect}
        단면 {sect} 쓸 거라서 section {id}번으로 create 좀
        sect #{id} = {sect}, 등록 plz
        새 section 필요해요. shape은 {sect}, 번호 {id}
        section ID {id}에 {sect} 형상 assign 해줄래?
        section list에 {sect} 추가해주고 id는 {id}번으로
    """),
    "cons.create.ko": _t("""
        노드 {nodes}에 {ctype} 지점 걸어줘
        {nodes}번 노드 {ctype} 처리해줘
        절점 {nodes} 경계조건 {ctype}
        지점조건: 노드 {nodes}, {ctype}
        노드 {nodes} 전부 {ctype} 지점으로 해줘
        {ctype} 경계조건을 노드 {nodes}에 적용해 주세요
        하부 노드 {nodes} 지지조건 {ctype}
        노드 {nodes} 서포트 설정, 타입 {ctype}
        경계조건 추가해줘. 노드 {nodes}, 조건 {ctype}
        {ctype} 지점 추가해 주세요. 대상 노드: {nodes}
        {ctype} 조건으로 구속해줘 — 노드 {nodes}
        기초 쪽 {nodes}번 절점 {ctype} 지점 처리 부탁해요
        경계조건 | 노드 {nodes} | {ctype}
        {nodes}번 노드 {ctype} 지점으로 구속해 줄 수 있어?
        지점: {ctype} / 절점: {nodes}
        노드 {nodes}, 여기 다 {ctype} 지점 줘 ㅇㅇ
    """),
    "cons.create.en": _t("""
        Add {ctype} supports at nodes {nodes}
        make nodes {nodes} {ctype}
        set boundary condition {ctype} on nodes {nodes}
        supports: nodes {nodes}, type {ctype}
        please apply a {ctype} constraint to nodes {nodes}
        Nodes {nodes} should be {ctype}.
        restrain nodes {nodes} as {ctype}
        {ctype} support at {nodes} please
        I want {ctype} boundary conditions at joints {nodes}
        Could you give nodes {nodes} {ctype} supports?
        support type {ctype} -> nodes {nodes}
        {ctype} restraint needed at node(s) {nodes}, please
        base nodes {nodes}: {ctype}
        For nodes {nodes}, assign a {ctype} boundary condition.
        BC: {ctype} @ nodes {nodes}
        Nodes {nodes} need to be restrained. Use {ctype} supports.
    """),
    "cons.create.mixed": _t("""
        node {nodes}에 {ctype} support 걸어줘
        {nodes}번 node {ctype} 처리
        boundary condition {ctype}, 노드 {nodes}
        노드 {nodes} support type {ctype} setting
        node {nodes} 전부 {ctype} 지점으로 해줘
        {ctype} constraint를 node {nodes}에 적용
        하부 node {nodes} {ctype} support 추가
        node {nodes} restraint {ctype} 해줘
        support 추가해줘: nodes {nodes}, {ctype}
        {ctype} support 추가해 주세요, 대상 node {nodes}
        BC: {ctype} / 대상 node {nodes}
        node {nodes} boundary condition 좀 걸어줘, {ctype}
        {nodes}번 node support 넣어줘, type은 {ctype}
        support condition {ctype} 적용 부탁해요 → nodes {nodes}
        node {nodes}에 {ctype} 조건 assign 가능?
        {ctype}, node {nodes} — support 생성 plz
    """),
    "stld.create.ko": _t("""
        하중케이스 {name} 추가해줘, 타입 {ltype}{desc}
        {ltype} 케이스 {name} 만들어줘{desc}
        정적하중 케이스 {name} 생성 ({ltype}){desc}
        로드케이스 {name} 하나 추가, 종류 {ltype}{desc}
        {name} 하중조건 등록해줘. 유형은 {ltype}{desc}
        하중 케이스 {name}: {ltype}{desc}
        {ltype}용 하중케이스 {name} 넣어줘{desc}
        케이스명 {name}, 하중종류 {ltype} 추가해 주세요{desc}
        {name} 케이스 만들어줘 {ltype}{desc}
        {ltype} 하중케이스 하나 만들어 줄래요? 이름은 {name}{desc}
        케이스 {name}{desc} — 종류는 {ltype}, 추가 부탁해요
        하중조건 추가: 이름 {name} / 유형 {ltype}{desc}
        종류 {ltype}, 이름 {name}{desc}. 이걸로 하중케이스 생성해줘
        새 케이스 필요해요: {name} ({ltype}){desc}
        로드케이스 추가 ㄱㄱ - {name}, {ltype}{desc}
        {ltype} 케이스 등록 좀 해줘. 케이스 이름 {name}{desc}
    """),
    "stld.create.en": _t("""
        Add load case {name}, type {ltype}{desc}
        create a {ltype} load case called {name}{desc}
        new static load case {name} ({ltype}){desc}
        define load case {name} as {ltype}{desc}
        I need a {ltype} case named {name}{desc}
        load case {name}: {ltype}{desc}
        please register load case {name} of type {ltype}{desc}
        make a case {name} for {ltype} loads{desc}
        add {name} as a {ltype} load case{desc}
        Can you set up a {ltype} load case? Name it {name}{desc}
        case {name}{desc}; type: {ltype}
        LC {name} | {ltype}{desc} | new
        We need another load case for {ltype} loads, called {name}{desc}
        Type {ltype}, name {name}{desc}: please create this static load case
        register {name}{desc} as a new load case (type {ltype})
        static load case plz: {name}, {ltype}{desc}
    """),
    "stld.create.mixed": _t("""
        load case {name} 추가해줘, type {ltype}{desc}
        {ltype} case {name} 만들어줘{desc}
        static load case {name} 생성 ({ltype}){desc}
        하중케이스 {name} add, 종류 {ltype}{desc}
        {name} load case 등록해줘. type은 {ltype}{desc}
        load case {name}: {ltype}{desc} 추가
        {ltype}용 load case {name} 넣어줘{desc}
        case name {name}, 하중종류 {ltype} create 해줘{desc}
        {name} case 만들어 {ltype}{desc}
        {ltype} load case 하나 만들어 줄래? 이름은 {name}{desc}
        LC {name}{desc} 추가, type {ltype}
        새 static load case 필요: name {name} / type {ltype}{desc}
        type은 {ltype}, name은 {name}{desc}. load case create 부탁
        {name} case 등록 좀 해줘 ({ltype}){desc}
        load case 추가 plz → {name}, {ltype}{desc}
        하중케이스 {name}{desc} 만들어줘, 종류는 {ltype} type
    """),
    "cnld.create.ko": _t("""
        노드 {node}에 {lcase} 케이스로 {loads} 넣어줘
        {lcase}에 절점하중 추가: 노드 {node}, {loads}
        {node}번 노드에 {loads} 재하해줘 ({lcase})
        절점 {node} 집중하중 {loads}, 하중케이스 {lcase}
        하중케이스 {lcase}, 노드 {node}에 {loads} 걸어줘
        노드 {node} 절점하중 {loads} 줘, 케이스는 {lcase}
        {lcase} 케이스에 {node}번 절점 하중 {loads} 추가
        노드{node} {loads} ({lcase})
        {node}번 절점에 {lcase} 집중하중 넣어줘: {loads}
        {loads} 하중을 {node}번 노드에 넣어줘, 하중케이스는 {lcase}
        기존 하중케이스 {lcase}에 절점하중 추가해줘. 대상 노드 {node}, 값 {loads}
        {loads} — 절점 {node}, 케이스 {lcase}
        케이스 {lcase} / 노드 {node} / {loads}
        절점하중 좀 줘: {loads}, 위치는 {node}번 노드, {lcase} 케이스
        {node}번 절점 하중 넣어 줄 수 있어? {lcase}에 {loads}
        집중하중 {loads} 넣을 노드는 {node}번이고 케이스는 {lcase}
    """),
    "cnld.create.en": _t("""
        Apply {loads} at node {node} in load case {lcase}
        add a nodal load to node {node}: {loads}, case {lcase}
        put {loads} on node {node} ({lcase})
        node {node}, load case {lcase}, {loads}
        In {lcase}, load node {node} with {loads}
        please add {loads} to joint {node} under {lcase}
        nodal load {loads} at {node} for case {lcase}
        I want {loads} applied to node #{node}, case {lcase}
        Add point load on node {node} in {lcase}: {loads}
        {loads} -> node {node} (LC {lcase})
        Could you put a nodal load of {loads} on node #{node}? Use case {lcase}.
        In the existing {lcase} case, add {loads} at node {node}
        LC={lcase}, node={node}, load: {loads}
        Node {node} gets {loads}. Put it under load case {lcase}.
        add joint load, case {lcase}: {loads} at node {node}
        Need {loads} applied at joint {node} — case {lcase}, thanks
    """),
    "cnld.create.mixed": _t("""
        node {node}에 {lcase} case로 {loads} 넣어줘
        {lcase}에 nodal load 추가: 노드 {node}, {loads}
        {node}번 node에 {loads} apply 해줘 ({lcase})
        절점 {node} point load {loads}, load case {lcase}
        load case {lcase}, node {node}에 {loads} 걸어줘
        node {node} nodal load {loads}, case는 {lcase}
        {lcase} case에 {node}번 node load {loads} add
        node{node} {loads} ({lcase}) 넣어줘
        {node}번 노드에 {lcase} point load 넣어줘: {loads}
        {loads} nodal load, node {node}에 apply, case는 {lcase}
        기존 load case {lcase}에 node {node} point load {loads} 추가
        LC {lcase} / node {node} / {loads} 넣어줘
        {node}번 node에 load 좀 줘: {loads}, case {lcase}
        point load {loads} 필요해요 → 노드 {node}, {lcase} case
        node {node}에 {loads} 줄 수 있어? case는 {lcase}
        nodal load: {loads} @ node {node}, LC {lcase} 부탁
    """),
    "bmld.create.ko": _t("""
        요소 {elem}에 {lcase} 케이스로 등분포하중 {q} 걸어줘, 방향 {dir}
        {elem}번 부재에 분포하중 {q} ({dir}, {lcase})
        보 {elem} 등분포 {q} 재하, 방향 {dir}, 하중케이스 {lcase}
        하중케이스 {lcase}: 요소 {elem} 등분포하중 {q} {dir} 방향
        요소 {elem} 보하중 추가해줘. {q}, {dir}, {lcase}
        {lcase}에 부재 {elem} 분포하중 {q} 넣어줘 ({dir})
        {elem}번 요소 {dir} 방향으로 {q} 등분포로 줘, 케이스 {lcase}
        요소{elem} 등분포 {q} {dir} {lcase}
        부재 {elem}에 {q}짜리 분포하중, {dir}, {lcase} 케이스
        하중케이스 {lcase}에서 요소 {elem}에 {dir} 방향 {q} 등분포 줘
        {q} 분포하중 걸 부재는 {elem}번, 방향 {dir}, 하중케이스 {lcase}
        케이스 {lcase} / 요소 {elem} / {dir} / {q}
        보 {elem}번 위에 등분포 {q} 좀 올려줘. {dir} 방향이고 {lcase} 케이스야
        {dir} 방향 등분포하중 추가 부탁해요: 요소 {elem}, 크기 {q}, 하중케이스 {lcase}
        {elem}번 요소에 보하중 줄 수 있어? {lcase}에 {q}, {dir}
        분포하중 {q} ({dir}) → 부재 {elem}, 케이스 {lcase}
    """),
    "bmld.create.en": _t("""
        apply a uniform load of {q} on element {elem}, direction {dir}, case {lcase}
        add beam load {q} ({dir}) to element {elem} in {lcase}
        element {elem}: distributed load {q} along {dir}, load case {lcase}
        In {lcase}, put a {q} UDL on member {elem} in {dir}
        Please load beam {elem} with {q} in {dir} for case {lcase}
        UDL {q} {dir} on elem {elem}, {lcase}
        I need a {lcase} line load of {q} on element {elem} ({dir})
        beam load on element #{elem}: {q}, direction {dir}, case {lcase}
        add {q} uniformly distributed load to element {elem} ({lcase}, {dir})
        In load case {lcase}, element {elem} needs a {q} uniform load acting in {dir}
        {q} along {dir} on element {elem}, case {lcase} please
        LC {lcase} | elem {elem} | {dir} | {q}
        Could you add a distributed load to beam #{elem}? {q}, {dir}, load case {lcase}.
        Direction {dir}, intensity {q}: apply it to member {elem} in case {lcase}
        uniform beam load for element {elem} please: w = {q}, dir {dir}, lc {lcase}
        Element {elem} carries {q} in {dir} under the {lcase} case; add that beam load
    """),
    "bmld.create.mixed": _t("""
        element {elem}에 {lcase} case로 UDL {q} 걸어줘, direction {dir}
        {elem}번 member에 distributed load {q} ({dir}, {lcase})
        beam {elem} 등분포 {q} apply, 방향 {dir}, load case {lcase}
        load case {lcase}: element {elem}에 uniform load {q} {dir}
        요소 {elem} beam load 추가해줘. {q}, {dir}, {lcase}
        {lcase}에 element {elem} line load {q} 넣어줘 ({dir})
        {elem}번 element {dir} 방향으로 {q} UDL, case {lcase}
        elem{elem} 등분포 {q} {dir} {lcase}
        member {elem}에 {q} distributed load, {dir}, {lcase} case
        load case {lcase}에서 element {elem}에 {dir} 방향 UDL {q} 줘
        {q} distributed load 걸 element는 {elem}번, dir {dir}, case {lcase}
        LC {lcase} / elem {elem} / {dir} / {q} beam load 추가
        beam {elem}번 위에 uniform load {q} 올려줘. {dir} 방향, {lcase} case
        {dir} direction 등분포 추가 부탁: member {elem}, 크기 {q}, LC {lcase}
        element {elem}에 beam load 줄 수 있어? {lcase}에 {q}, {dir}
        UDL {q} ({dir}) → 요소 {elem}, load case {lcase}
    """),
    "anal.run.ko": _t("""
        {atype} 해석 돌려줘
        이제 {atype} 해석 실행해 주세요
        모델 다 됐어, {atype} 해석 시작해
        {atype} 해석 한번 돌려볼래?
        {atype} 해석 수행 부탁해
        지금 모델로 {atype} 해석 진행해줘
        {atype} 해석 ㄱㄱ
        모델링 끝났으니 {atype} 해석 좀 돌려 주세요
        {atype} 해석 계산 시작해줘
        이 모델 {atype} 해석 실행해 줄 수 있어?
        {atype} 해석 좀 걸어줘
        모델 확인 끝났어요. {atype} 해석 부탁드립니다
        {atype} 해석 실행 가능해요?
        이 상태에서 {atype} 해석 바로 돌려 주세요
        다 입력했으니까 {atype} 해석 돌려봐
        {atype} 해석 수행해 줄래요?
    """),
    "anal.run.en": _t("""
        run the {atype} analysis
        Please perform {atype} analysis now
        model's done, start the {atype} analysis
        can you run {atype} analysis on the model?
        kick off the {atype} analysis
        go ahead and run {atype} analysis
        execute the {atype} analysis please
        model is ready now, launch the {atype} analysis
        Could you start the {atype} analysis for this model?
        I'd like the {atype} analysis executed now
        time to run the {atype} analysis
        Run {atype} analysis pls
        Everything's modelled. Can we do the {atype} analysis now?
        please solve the model and run the {atype} analysis
        Start {atype} analysis, thanks
        Would you mind running the {atype} analysis?
    """),
    "anal.run.mixed": _t("""
        {atype} analysis 돌려줘
        이제 {atype} analysis run 해줘
        모델 완성, {atype} 해석 start
        {atype} analysis 한번 돌려볼래?
        {atype} 해석 run 부탁
        지금 model로 {atype} analysis 진행해줘
        {atype} analysis 바로 ㄱㄱ
        모델링 끝났어, {atype} analysis 실행 plz
        이 model {atype} 해석 run 해줄래?
        {atype} analysis 시작해 주세요
        {atype} analysis 좀 걸어줘
        model 입력 끝, {atype} analysis 돌려 주세요
        {atype} analysis 실행 가능?
        이 model로 {atype} 해석 solve 해줘
        {atype} 해석 start 해줄래요?
        다 입력했어, {atype} analysis 바로 돌려봐 plz
    """),
}

# One user turn, several calls; templates mention the parts in the order the calls are listed.
PHRASINGS.update({
    "multi.nodes.ko": _t("""
        노드 {points} 만들어줘
        절점 여러 개 추가해줘: {points}
        다음 노드들 생성 부탁해요 - {points}
        {points} 이렇게 노드 찍어줘
        노드 추가: {points}
        아래 좌표로 절점 만들어 줘 {points}
        절점 {points} 한꺼번에 생성해 주세요
        노드 몇 개 필요해. {points}
        좌표 목록대로 노드 추가 부탁해요: {points}
        새 절점들 {points} 모델에 넣어줄래?
        {points} — 이 절점들 모델에 추가 좀 해줘
        노드 생성 요청드립니다. {points}
        다음 위치에 노드 좀 찍어 주실래요? {points}
        절점 일괄 생성: {points}
        번호랑 좌표 적어둘게, 노드로 만들어줘 → {points}
        이 좌표들에 새 노드 넣어줘 ㅇㅇ: {points}
    """),
    "multi.nodes.en": _t("""
        create nodes {points}
        add these nodes: {points}
        Please make the following joints - {points}
        new nodes {points}
        I need nodes {points}
        Define nodes {points}.
        can you add joints {points}?
        pls create the nodes listed here: {points}
        Insert the following nodes into the model: {points}
        nodes to add -> {points}
        Could you generate nodes at the following points? {points}
        {points} - add these as new nodes please
        node list for you to create: {points}
        make joints: {points}. thanks
        Place a node at each of these: {points}
        Create the joints below, ids and coordinates as given: {points}
    """),
    "multi.nodes.mixed": _t("""
        node {points} create 해줘
        nodes 추가해줘: {points}
        다음 node들 생성 plz - {points}
        {points} 이렇게 node 만들어줘
        node 추가: {points}
        아래 coordinates로 노드 만들어 {points}
        절점 {points} 한번에 add 해 주세요
        node 여러 개 필요해요: {points}
        {points} 좌표로 new node들 넣어줄래?
        joint 생성 부탁 - {points}
        {points} — 이대로 node create 부탁해요
        new joint 추가 요청: {points}
        node 생성 list 드릴게요 → {points}
        아래 point들 node로 add 해주실래요? {points}
        nodes 일괄 create: {points}
        모델에 node 넣어줘 plz, {points}
    """),
    "multi.frame.ko": _t("""
        노드 {i}번 {pi}, {j}번 {pj} 만들고 두 노드 잇는 {etype} 요소 {id}번 추가해줘 (재질 {matl}, 단면 {sect})
        절점 {i} {pi}, 절점 {j} {pj} 생성 후 요소 {id} 연결, 종류 {etype}, 재질 {matl} 단면 {sect}
        {pi}에 노드 {i}, {pj}에 노드 {j} 넣고 그 사이 {etype} {id}번 만들어줘. 재질 {matl}, 단면 {sect}
        노드 {i} {pi}, 노드 {j} {pj} 추가하고 요소 {id}({etype}, 재질 {matl}, 단면 {sect}) 이어줘
        {etype} 하나 모델링해줘: 노드 {i} {pi}, 노드 {j} {pj}, 요소번호 {id}, 재질 {matl}, 단면 {sect}
        새 노드 {i}번 {pi}, {j}번 {pj} 그리고 둘 연결하는 요소 {id} ({etype}) 재질 {matl}번 단면 {sect}번
        절점 {i}번 {pi}, {j}번 {pj} 추가한 뒤 {etype} 부재 {id}번으로 연결해 주세요 (재질 {matl}, 단면 {sect})
        노드 두 개 만들어줘: {i}번 {pi}, {j}번 {pj}. 그다음 {etype} 요소 {id} 생성, 재질 {matl}번, 단면 {sect}번
        좌표 {pi}에 절점 {i}, 좌표 {pj}에 절점 {j} 추가하고 부재 {id}번({etype}) 연결, 재질 {matl}, 단면 {sect}
        {etype} 부재 하나 필요해요. 노드 {i} {pi}, 노드 {j} {pj} 넣고 요소번호 {id}, 재질 {matl}, 단면 {sect} 부탁해요
        새 노드 {i}번 {pi}, {j}번 {pj} 만들고 둘 잇는 {etype} 추가해줘. 재질 {matl}, 단면 {sect}, 요소번호 {id}
        {etype} 요소 {id}번 넣고 싶은데 노드가 없어. 먼저 {i}번 {pi}, {j}번 {pj} 만들고 이어줘 (재질 {matl}, 단면 {sect})
        노드 {i}: {pi} / 노드 {j}: {pj} / 요소 {id}: {etype}, 재질 {matl}, 단면 {sect}
        절점 {i}번을 {pi}에, {j}번을 {pj}에 만들고 그 사이에 {etype} 넣어줄래? 단면 {sect}, 재질 {matl}, ID {id}
        좌표 {pi}, {pj}에 각각 절점 {i}번, {j}번 생성하고 {etype} 요소 {id}번 연결. 단면 {sect}, 재질 {matl}
        {etype} 부재 추가 부탁해요 - 양 끝 새 노드 {i}번 {pi}, {j}번 {pj}, 재질 {matl}번, 단면 {sect}번, 번호 {id}
    """),
    "multi.frame.en": _t("""
        Create node {i} at {pi} and node {j} at {pj}, then a {etype} element {id} between them (material {matl}, section {sect})
        add nodes {i} {pi} and {j} {pj} and connect them with {etype} {id}, mat {matl}, sect {sect}
        I need a {etype} from {pi} to {pj}: nodes {i} and {j}, element {id}, material {matl}, section {sect}
        make node {i} {pi}, node {j} {pj}, then element {id} as a {etype} with material {matl} and section {sect}
        Model a {etype}: node {i} at {pi}, node {j} at {pj}, element {id}, material {matl}, section {sect}
        new nodes {i} at {pi} and {j} at {pj} plus a {etype} element {id} joining them, material {matl}, section {sect}
        First create nodes {i} {pi} and {j} {pj}; next, element {id}: {etype}, material {matl}, section {sect}
        can you place node {i} at {pi} and node {j} at {pj}, and span a {etype} #{id} across them? material {matl}, section {sect}
        pls build a {etype} element {id} on two new nodes ({i} at {pi}, {j} at {pj}) with material {matl} and section {sect}
        nodes {i} at {pi} / {j} at {pj}, then {etype} {id} between them using material {matl}, section {sect}
        nodes {i} {pi} and {j} {pj} first, then join them with a {etype}; sect {sect}, material {matl}, elem no. {id}
        Add a {etype} on two new nodes, {i} at {pi} and {j} at {pj}. Mat {matl} / sect {sect}, number it {id}.
        new nodes {i} {pi}, {j} {pj}; elem {id} = {etype}, mat {matl}, sec {sect}
        Element {id} ({etype}, sect {sect}, mat {matl}) needs new end nodes first: {i} at {pi}, {j} at {pj}
        could you create joints {i} at {pi}, {j} at {pj} and link them by a {etype}? ID {id}, matl {matl}, sect {sect}
        New nodes #{i} {pi} and #{j} {pj}, plus {etype} #{id} joining them. Material {matl}, section {sect}, thanks
    """),
    "multi.frame.mixed": _t("""
        node {i}번 {pi}, {j}번 {pj} create 하고 두 node 잇는 {etype} element {id} 추가 (material {matl}, section {sect})
        노드 {i} {pi}, 노드 {j} {pj} add 후 element {id} 연결, type {etype}, 재질 {matl} 단면 {sect}
        {pi}에 node {i}, {pj}에 node {j} 만들고 그 사이 {etype} {id}번, matl {matl} sect {sect}
        node {i} {pi}, {j} {pj} 추가하고 element {id}({etype}, material {matl}, section {sect}) 연결해줘
        {etype} 하나 modeling 해줘: node {i} {pi}, node {j} {pj}, element {id}, 재질 {matl}, 단면 {sect}
        new node {i}번 {pi}, {j}번 {pj} 그리고 {etype} element {id} 재질 {matl} 단면 {sect}
        절점 {i}번 {pi}, {j}번 {pj} add 한 뒤 {etype} member {id}번으로 연결, 재질 {matl} 단면 {sect}
        node 두 개 먼저 만들어줘: {i}번 {pi}, {j}번 {pj}. 그다음 {etype} element {id}, material {matl}, section {sect}
        {pi}에 joint {i}, {pj}에 joint {j} 생성하고 element {id}({etype}) 연결 plz, matl {matl} sect {sect}
        {etype} 하나 필요해요: new node {i} {pi}, {j} {pj}, element 번호 {id}, material {matl}, section {sect}
        새 node {i} {pi}, {j} {pj} 만들고 {etype} 연결해줘. section {sect}, material {matl}, element No. {id}
        element {id}번 ({etype}) 추가하려는데 node가 없어요. 먼저 {i}번 {pi}, {j}번 {pj} create 해주세요. 재질 {matl}, 단면 {sect}
        node {i}: {pi} / node {j}: {pj} / elem {id}: {etype}, matl {matl}, sect {sect} 입력 plz
        좌표 {pi}, {pj}에 각각 joint {i}, {j} 추가하고 그 사이 {etype} 연결, ID {id}, sect {sect}, matl {matl}
        {etype} member 하나 부탁해요 - new node {i}: {pi}, {j}: {pj}, 재질 {matl}번, 단면 {sect}번, 번호 {id}
        node 두 개 create: {i} at {pi}, {j} at {pj}. 그 다음 {etype} 요소로 이어줘. ID는 {id}, matl {matl} / sect {sect}
    """),
    "multi.case_load.ko": _t("""
        하중케이스 {name}({ltype}) 만들고 노드 {node}에 {loads} 넣어줘
        {ltype} 케이스 {name} 추가한 다음 그 케이스로 {node}번 절점에 {loads} 재하
        {name} 케이스 새로 만들어줘 (종류 {ltype}). 그리고 노드 {node}에 {loads}
        케이스 {name} 생성, 타입 {ltype}, 절점 {node} 하중 {loads}
        {ltype} 케이스 {name} 등록 후 노드 {node} 집중하중 {loads}
        노드 {node}에 {loads} 줘야 하는데 케이스 {name}({ltype})부터 만들어줘
        로드케이스 {name} 추가해 주세요, 종류는 {ltype}. 그 케이스로 절점 {node}에 {loads} 걸어주세요
        먼저 {ltype} 하중케이스 {name} 만들고, 다음에 노드 {node} 절점하중 {loads} 넣어줘
        새 하중조건 {name} ({ltype}) 등록하고 {node}번 노드에 집중하중 {loads} 재하 부탁해요
        케이스 {name} 하나 만들어줄래? 유형 {ltype}, 그리고 거기에 노드 {node} {loads}
        하중케이스부터 추가해줘: 이름 {name}, 종류 {ltype}. 그다음 그 케이스로 노드 {node}에 {loads}
        {name} ({ltype}) 케이스 신규 생성 → 절점 {node} 집중하중 {loads}
        케이스가 아직 없어. {ltype} 케이스 {name} 만들고 거기에 {node}번 노드 하중 {loads} 넣어줘
        노드 {node}에 {loads} 재하할 건데, 새 하중케이스 {name}(유형 {ltype}) 먼저 만들어 주세요
        하중케이스 생성 {name} / 종류 {ltype} / 절점하중: 노드 {node}, {loads}
        {ltype} 하중케이스 하나 새로 만들어줄래? 이름 {name}. 만들고 나서 절점 {node}번에 {loads} 걸어줘
    """),
    "multi.case_load.en": _t("""
        Create load case {name} ({ltype}) and apply {loads} at node {node}
        add a {ltype} case {name}, then put {loads} on node {node} in it
        new load case {name}, type {ltype}; node {node} gets {loads}
        define {name} as a {ltype} case and load node {node} with {loads}
        I need case {name} for {ltype} loads plus {loads} at joint {node}
        set up {ltype} load case {name} then add nodal load {loads} on node {node}
        first add {name} as a {ltype} load case, then apply {loads} to node {node} under it
        can you make a {ltype} load case called {name} and load joint {node} with {loads} in it?
        pls register case {name} (type {ltype}) and put a point load {loads} at node #{node}
        New {ltype} case {name}; after that, node {node}: {loads} in that case
        Before loading node {node} with {loads}, create the load case {name} ({ltype} type) and use it
        new case: {name}, type {ltype} -> nodal load {loads} at node {node}
        pls add a load case named {name} of type {ltype}, then load joint {node}: {loads}
        Case {name} doesn't exist yet, so create it as {ltype} and put {loads} on node {node} under it
        Could you set up a {ltype} case called {name}? After that, point load {loads} on node {node}.
        need {loads} on node #{node} in a new {ltype} load case {name}, create the case first
    """),
    "multi.case_load.mixed": _t("""
        load case {name}({ltype}) 만들고 node {node}에 {loads} 넣어줘
        {ltype} case {name} add 한 다음 {node}번 node에 {loads}
        {name} case 새로 create (type {ltype}), 그리고 노드 {node}에 {loads}
        case {name} 생성, type {ltype}, node {node} load {loads}
        {ltype} load case {name} 등록 후 node {node}에 point load {loads}
        node {node}에 {loads} 줘야 돼, 먼저 load case {name}({ltype}) 만들어줘
        먼저 {ltype} load case {name} 만들고, 그다음 node {node}에 nodal load {loads} 넣어줘
        load case {name} add 해 주세요 (종류 {ltype}), 그 case로 절점 {node}에 {loads}
        새 case {name} 등록해줄래? type {ltype}, 그리고 {node}번 node에 point load {loads}
        {ltype} 하중케이스 {name} create 후 노드 {node} load {loads} apply plz
        load case 먼저 추가: name {name}, type {ltype}. 그다음 node {node}에 {loads}
        {name} case 신규 create ({ltype}) → 노드 {node} point load {loads}
        case 아직 없어요, {ltype} case {name} 만들고 그 case로 {node}번 node에 {loads} apply 해주세요
        새 load case {name}(type {ltype}) 등록 후 joint {node} nodal load: {loads}
        {ltype} type의 new case {name} 만들어줄래? 만든 다음 노드 {node}에 load {loads} plz
        LC 생성: {name} / {ltype}, 그리고 nodal load - node {node}, {loads}
    """),
    "multi.matl_sect.ko": _t("""
        재질 {mid}번 {mtype} {grade}, 단면 {sid}번 {sect} 정의해줘
        {grade} 재료를 {mid}번으로 추가하고 단면 {sid}번은 {sect}
        재료 {mid}: {mtype} {grade} / 단면 {sid}: {sect}
        재질이랑 단면 추가해줘. 재질 {mid} {grade}, 단면 {sid} {sect}
        {mtype} {grade} 재질 {mid}번 만들고 {sect} 단면 {sid}번도 만들어
        재질 {mid}번 {grade} 등록, 이어서 단면 {sid}번 {sect} 등록
        재료 {mid}번 {grade} 추가해 주시고 단면 {sid}번 {sect}도 추가해 주세요
        먼저 재질 {mid} 정의해줘 ({mtype}, 등급 {grade}). 다음은 단면 {sid}: {sect}
        재료 하나랑 단면 하나 필요해요 - 재료 {mid}번 {grade}, 단면 {sid}번 {sect}
        재질번호 {mid} {mtype} {grade} 등록하고 단면번호 {sid} {sect} 넣어줄래?
        재질 추가: 번호 {mid}, 등급 {grade}. 단면 추가: 번호 {sid}, {sect}
        {grade} 재질 하나 {mid}번에 넣고, 단면 {sid}번에는 {sect} 넣어줘
        재료번호 {mid} → {mtype} {grade}, 단면번호 {sid} → {sect}. 이렇게 정의 부탁해요
        {mtype} 재료 등급 {grade}, 번호는 {mid}번. 단면도 하나 {sid}번으로 추가해줄래? 형상은 {sect}
        재질 ID {mid} / 종류 {mtype} / 등급 {grade}, 단면 ID {sid} / 치수 {sect}
        등급 {grade} 재질은 {mid}번, {sect} 단면은 {sid}번으로 만들어 주세요
    """),
    "multi.matl_sect.en": _t("""
        define material {mid} as {mtype} {grade} and section {sid} as {sect}
        add material {mid} ({grade}) and section {sid}: {sect}
        material {mid}: {mtype} {grade} / section {sid}: {sect}
        I need material {mid} = {grade} {mtype} plus section {sid} = {sect}
        create {grade} material {mid}, then a {sect} section {sid}
        set up mat {mid} {grade} and sect {sid} {sect} please
        first define material {mid}, grade {grade}, then section {sid} as {sect}
        can you add {mtype} material {mid} ({grade}) and section {sid} ({sect})?
        I need two things: material {mid} with grade {grade}, and section {sid} = {sect}
        Material {mid} should be {grade}; section {sid} should be {sect}.
        Please add material no. {mid}: grade {grade} ({mtype}), and section no. {sid}: {sect}
        pls create mat #{mid} with {grade}, and sect #{sid} with shape {sect}
        need a {grade} material, ID {mid}, plus section ID {sid} defined as {sect}
        Could you register {mtype} grade {grade} as material {mid}, then {sect} as section {sid}?
        matl {mid} = {grade}; sect {sid} = {sect} - create both
        Add a material (id {mid}, {mtype}, {grade}) followed by a section (id {sid}, {sect})
    """),
    "multi.matl_sect.mixed": _t("""
        material {mid}번 {mtype} {grade}, section {sid}번 {sect} define 해줘
        {grade} material {mid}번 추가하고 단면 {sid}번은 {sect}
        재료 {mid}: {mtype} {grade} / section {sid}: {sect}
        material이랑 section 추가해줘. matl {mid} {grade}, sect {sid} {sect}
        {mtype} {grade} material {mid} 만들고 {sect} section {sid}도 create
        재질 {mid}번 {grade} 등록, 그다음 section {sid}번 {sect}
        먼저 material {mid} 정의해줘 ({mtype}, grade {grade}). 다음은 section {sid}: {sect}
        재질 하나랑 section 하나 필요해요 - matl {mid}번 {grade}, 단면 {sid}번 {sect}
        material {mid} {grade} 추가하고 단면 {sid}번 {sect} add 해 주세요
        {grade} 재료 {mid}번 register 한 다음 section {sid}번 {sect} 넣어줄래?
        material 추가: ID {mid}, grade {grade}. section 추가: ID {sid}, {sect}
        {mtype} grade {grade} 재료를 {mid}번으로 register, 그리고 {sect} section은 {sid}번
        matl #{mid} {grade} / sect #{sid} {sect} 둘 다 create 해줘
        재질번호 {mid}에 {grade} 넣고 section No. {sid}에 {sect} define 부탁해요
        material 하나 section 하나 추가해 줄래요? mat {mid}번 = {mtype} {grade}, sec {sid}번 = {sect}
        등급 {grade} material은 {mid}번, {sect} section은 {sid}번으로 만들어줘
    """),
    "multi.supports.ko": _t("""
        노드 {nodes1} {ctype1}, 노드 {nodes2} {ctype2} 지점으로 해줘
        경계조건: {nodes1}번 {ctype1} / {nodes2}번 {ctype2}
        절점 {nodes1}에 {ctype1}, 절점 {nodes2}에 {ctype2} 조건 걸어줘
        지점 설정해줘 - 노드 {nodes1} {ctype1}, 노드 {nodes2} {ctype2}
        노드 {nodes1} {ctype1} 처리하고 {nodes2}번은 {ctype2} 처리해줘
        {ctype1} 지점 노드 {nodes1}, {ctype2} 지점 노드 {nodes2} 입력
        절점 {nodes1} 지점은 {ctype1}, 절점 {nodes2} 지점은 {ctype2} 부탁해요
        경계조건 두 가지 넣어줘. 먼저 노드 {nodes1} {ctype1}, 그다음 노드 {nodes2} {ctype2}
        {nodes1}번 절점 {ctype1} 지지, {nodes2}번 절점 {ctype2} 지지로 설정해 주세요
        지지조건 입력: 노드 {nodes1} → {ctype1}, 노드 {nodes2} → {ctype2}
        지점 입력 부탁해요. {ctype1}: 노드 {nodes1} / {ctype2}: 노드 {nodes2}
        {nodes1}번 노드는 {ctype1} 조건, {nodes2}번 노드는 {ctype2} 조건으로 잡아줘
        경계조건 좀 걸어줄래? 절점 {nodes1}에는 {ctype1} 지점, 절점 {nodes2}에는 {ctype2} 지점
        {ctype1} 지점은 {nodes1}번, {ctype2} 지점은 {nodes2}번 절점에 설정
        노드 {nodes1}번에 {ctype1} 주고, 노드 {nodes2}번에는 {ctype2} 줘
        지점 두 종류야 - {ctype1} ({nodes1}번), {ctype2} ({nodes2}번)
    """),
    "multi.supports.en": _t("""
        make nodes {nodes1} {ctype1} and nodes {nodes2} {ctype2}
        supports: {nodes1} {ctype1}, {nodes2} {ctype2}
        Apply {ctype1} supports at nodes {nodes1} and {ctype2} supports at nodes {nodes2}
        nodes {nodes1} should be {ctype1}; nodes {nodes2} should be {ctype2}
        set node {nodes1} to {ctype1} and node {nodes2} to {ctype2}
        boundary conditions please - {ctype1} at {nodes1}, {ctype2} at {nodes2}
        can you restrain nodes {nodes1} as {ctype1} and nodes {nodes2} as {ctype2}?
        first {ctype1} boundary conditions at joints {nodes1}, then {ctype2} at joints {nodes2}
        pls assign a {ctype1} support to nodes {nodes1} and a {ctype2} one to nodes {nodes2}
        I want {ctype1} restraints on nodes {nodes1} and {ctype2} restraints on nodes {nodes2}
        {ctype1}: nodes {nodes1}; {ctype2}: nodes {nodes2}. please add these supports
        could you set the boundary conditions - nodes {nodes1} get {ctype1}, nodes {nodes2} get {ctype2}?
        Joints {nodes1} are {ctype1} supported and joints {nodes2} are {ctype2} supported; please model that
        add support type {ctype1} at {nodes1}, then support type {ctype2} at {nodes2}
        restraints -> {nodes1}: {ctype1} | {nodes2}: {ctype2}
        Please define two support sets: {ctype1} for nodes {nodes1} and {ctype2} for nodes {nodes2}
    """),
    "multi.supports.mixed": _t("""
        node {nodes1} {ctype1}, node {nodes2} {ctype2} support로 해줘
        boundary condition: {nodes1}번 {ctype1} / {nodes2}번 {ctype2}
        절점 {nodes1}에 {ctype1}, 절점 {nodes2}에 {ctype2} support 걸어줘
        support 설정 - node {nodes1} {ctype1}, node {nodes2} {ctype2}
        node {nodes1} {ctype1} 처리하고 {nodes2}번은 {ctype2}
        {ctype1} support node {nodes1}, {ctype2} support node {nodes2} 입력
        절점 {nodes1} support는 {ctype1}, 절점 {nodes2} support는 {ctype2} 부탁해요
        boundary condition 두 개 넣어줘: 먼저 node {nodes1} {ctype1}, 그다음 node {nodes2} {ctype2}
        {nodes1}번 node {ctype1} restraint, {nodes2}번 node {ctype2} restraint 설정해 주세요
        지점조건 input - joint {nodes1}: {ctype1} / joint {nodes2}: {ctype2}
        support 입력 부탁해요. {ctype1}: node {nodes1} / {ctype2}: node {nodes2}
        {ctype1} 조건은 node {nodes1}, {ctype2} 조건은 node {nodes2}에 assign 해줘
        BC 설정 좀 해줄래? joint {nodes1}에는 {ctype1}, joint {nodes2}에는 {ctype2}
        node {nodes1}번 support type {ctype1}, node {nodes2}번 support type {ctype2} 적용
        restraint 두 개: {nodes1}번 → {ctype1}, {nodes2}번 → {ctype2}
        먼저 node {nodes1}에 {ctype1} support 주고, 그다음 node {nodes2}에 {ctype2} support plz
    """),
    "multi.cleanup.ko": _t("""
        요소 {eid} 지우고 노드 {nids}도 삭제해줘
        {eid}번 부재 삭제 후 절점 {nids} 삭제
        요소 {eid}번이랑 노드 {nids} 전부 없애줘
        잘못 만든 요소 {eid} 삭제하고, 거기 쓰인 노드 {nids}도 지워줘
        요소 {eid} 제거, 노드 {nids} 제거
        부재 {eid} 빼고 절점 {nids}도 정리해줘
        먼저 부재 {eid}번 삭제하고, 다음에 절점 {nids}번 지워 주세요
        요소 {eid} 없애고 남은 노드 {nids}번까지 정리 부탁해요
        {eid}번 요소 제거한 다음 {nids}번 노드 제거해줄래?
        엘리먼트 {eid} 삭제, 그리고 절점 {nids} 삭제도 부탁드려요
        삭제 요청: 요소 {eid}번, 노드 {nids}번
        부재 {eid}번 필요 없어졌어. 지우고 절점 {nids}도 같이 삭제 부탁해
        요소번호 {eid} 삭제 → 노드번호 {nids} 삭제
        {eid}번 엘리먼트랑 {nids}번 절점 모두 지워 주실래요?
        모델 정리 좀 해줘 ㅇㅇ 요소 {eid} 삭제, 그 뒤에 노드 {nids} 삭제
        노드 {nids} 지우려면 요소 {eid}부터 지워야 해. 전부 삭제해줘
    """),
    "multi.cleanup.en": _t("""
        delete element {eid}, then remove node {nids} too
        remove member {eid} and node {nids}
        clean up: element {eid}, node {nids}
        element {eid} was a mistake, delete it and node {nids}
        drop elem {eid} plus node {nids}
        please get rid of element {eid} and then node {nids}
        first delete member {eid}, after that remove node {nids}
        can you erase element #{eid} and the leftover node {nids}?
        pls remove elem {eid}, then delete node {nids} as well
        I don't need element {eid} or node {nids} anymore, delete them
        Delete request: element {eid}, then node {nids}
        elem {eid} isn't needed, delete it; node {nids} can go too
        can you remove element no. {eid} followed by node {nids}?
        To delete node {nids} I first need element {eid} gone, so please delete all of them
        pls erase member #{eid}, and after it node {nids}
        remove: elem {eid} -> node {nids}
    """),
    "multi.cleanup.mixed": _t("""
        element {eid} 지우고 node {nids}도 delete 해줘
        {eid}번 member 삭제 후 node {nids} remove
        요소 {eid}번이랑 node {nids} 전부 delete
        잘못 만든 element {eid} 삭제, 거기 쓰인 node {nids}도 remove 해줘
        element {eid} remove, 노드 {nids} remove
        elem {eid} 빼고 node {nids}도 정리 plz
        먼저 member {eid}번 delete 하고, 다음에 절점 {nids}번 remove 해 주세요
        element {eid} 없애고 남은 node {nids}번까지 정리 부탁해요
        {eid}번 요소 remove 한 다음 {nids}번 node 삭제해줄래?
        elem #{eid} erase 하고 node {nids}번도 delete plz
        delete 요청: element {eid}번, node {nids}번
        member {eid}번 필요 없어요, delete 하고 node {nids}도 같이 지워줘
        node {nids} 지우기 전에 element {eid}부터 remove 해줘, 전부 삭제
        elem No. {eid} 삭제 → node No. {nids} 삭제
        {eid}번 element랑 {nids}번 joint 모두 erase 해 주실래요?
        모델 cleanup 좀: 요소 {eid} delete, 그다음 절점 {nids} delete
    """),
})

# Multi-turn: the scored call needs a value that only the tool response supplies
# (node_offset: one user turn, GET then POST; the others: a follow-up user turn).
PHRASINGS.update({
    "mt.node_offset.ko": _t("""
        노드 {ref}번 좌표 확인해서 {offset} 옮긴 위치에 노드 {new}번 만들어줘
        {ref}번 절점 기준으로 {offset} 떨어진 곳에 새 노드 {new} 추가
        노드 {ref} 위치 조회하고, 거기서 {offset} 이동한 점에 노드 {new} 생성해줘
        절점 {ref}에서 {offset} 간 자리에 {new}번 절점 찍어줘. 좌표는 조회해서 써
        노드 {new}번 만들어줘, 위치는 노드 {ref}에서 {offset}
        노드 {ref} 좌표 모르니까 확인하고 {offset} 오프셋해서 노드 {new} 넣어줘
        노드 {new}번 추가해줘. 노드 {ref}번 좌표 조회해서 {offset} 이동한 위치에
        {ref}번 절점 위치 먼저 확인하고 {offset} 옮겨서 새 절점 {new} 생성 부탁해요
        노드 {ref}번 자리에서 {offset} 이동시킨 위치, 거기에 {new}번 노드 만들어줄래?
        새 절점 {new}: 위치는 절점 {ref} 좌표에서 {offset}
        새 노드 번호는 {new}. 위치는 노드 {ref} 좌표 조회해서 {offset} 이동한 곳
        {offset} 이동한 자리에 절점 하나 추가해줘 - 기준 절점 {ref}번, 새 번호 {new}번
        기준 노드 {ref} / 이동 {offset} / 신규 노드 {new}
        노드 {ref}번 좌표 확인해 줄래? 거기서 {offset} 옮긴 위치에 {new}번 노드 생성해줘
        {new}번 절점 생성 부탁해요. {ref}번 절점 위치를 확인한 뒤 {offset} 이동한 점으로 해 주세요
        노드 {ref} 기준 오프셋: {offset}. 그 점에 노드 {new} 만들어줘 ㅇㅇ
    """),
    "mt.node_offset.en": _t("""
        look up node {ref} and create node {new} offset {offset} from it
        add node {new} at node {ref}'s position shifted {offset}
        Get node {ref}'s coordinates, then make node {new} {offset} away from it
        create node {new} {offset} from node {ref}
        I need a node {new} placed {offset} relative to node {ref}
        check where node {ref} is and put node {new} {offset} from there
        pls find node {ref} first, then add node {new} shifted {offset}
        can you create node {new} located {offset} from where node {ref} is?
        node {new} should sit {offset} relative to node {ref}, check its coords and add it
        Query node {ref}, then place a new node {new} at that point moved {offset}.
        new node {new}: take node {ref}'s coordinates and move {offset}
        Please add node {new}. Position = node {ref}'s coordinates, moved {offset}.
        ref node {ref}, offset {offset}, new id {new}. create it
        could you read node {ref}'s location and drop node {new} there, shifted {offset}?
        I don't know where node {ref} is, but I need node {new} placed {offset} from it
        Create node {new} by offsetting node {ref}'s position {offset}
    """),
    "mt.node_offset.mixed": _t("""
        node {ref} 좌표 check 하고 {offset} 옮긴 위치에 node {new} create
        {ref}번 node 기준 {offset} offset 해서 new node {new} 추가
        노드 {ref} position 조회, 거기서 {offset} 이동한 곳에 node {new} 생성
        node {ref}에서 {offset} 간 곳에 node {new}번 add 해줘
        node {new}번 만들어줘, location은 node {ref}에서 {offset}
        node {ref} 좌표 get 해서 {offset} offset한 node {new} 넣어
        node {ref} 위치 먼저 확인하고 {offset} shift 해서 new node {new} 추가 부탁해요
        {ref}번 joint 좌표 look up 하고 거기서 {offset} 옮긴 점에 node {new}번 만들어줄래?
        node {new}번 필요해요, reference는 node {ref}, offset은 {offset}
        새 절점 {new} add 해 주세요, node {ref} 좌표에서 {offset} 이동한 곳
        new node {new} 추가해줘, 위치는 node {ref} 좌표 기준 {offset}
        reference node {ref} / offset {offset} / new node {new} 생성
        node {ref}번 coordinates 확인 후 {offset} 이동한 point에 {new}번 node create 부탁해요
        {offset} shift한 위치에 node 하나 add 해줄래? 기준은 node {ref}, ID는 {new}
        node {ref} 좌표 조회 → {offset} 이동 → node {new} 생성
        {new}번 joint 만들어야 해요. node {ref} 좌표 get 해서 {offset} offset 적용해줘
    """),
    "mt.elem_jnode.ko": _t("""
        그 요소 {end} 노드에 {lcase} 케이스로 {loads} 넣어줘
        좋아, {end} 절점에 {loads} 걸어줘 ({lcase})
        그럼 {end} 노드에 집중하중 {loads}, 케이스 {lcase}
        거기 {end} 노드에 {loads} 추가, 하중케이스 {lcase}
        {end} 쪽 노드에 {loads} 줘, 케이스는 {lcase}
        이 부재 {end} 절점에 {lcase} 절점하중 {loads} 부탁해
        고마워. 그럼 그 부재 {end} 절점에 집중하중 {loads} 재하해 주세요, 하중케이스 {lcase}
        확인했어. {lcase} 케이스로 이 요소 {end} 노드에 절점하중 {loads} 추가해줄래?
        방금 조회한 요소의 {end} 노드, 거기에 {loads} 걸어줘 ({lcase})
        그 요소 {end} 쪽 절점 하중: {loads}, 케이스 {lcase}
        하중케이스는 {lcase}. 그 요소 {end} 노드에 {loads} 넣어줘
        {loads}, 그 부재 {end} 절점에 재하해줘. 케이스 {lcase}
        알겠어. 케이스 {lcase} 기준으로 {end} 노드 집중하중 {loads} 부탁
        그러면 이 요소의 {end} 절점 번호 써서 절점하중 넣어줄래? {loads}, 케이스 {lcase}
        {end} 노드 쪽 하중 입력 - 케이스: {lcase} / 값: {loads}
        오케이, 거기 {end} 쪽 절점에다 {lcase} 케이스 하중 {loads} 걸어 주세요
    """),
    "mt.elem_jnode.en": _t("""
        apply {loads} at its {end} node in case {lcase}
        ok, put {loads} on the {end} node ({lcase})
        now add a nodal load {loads} to that element's {end} node, case {lcase}
        load the {end} node of it with {loads} under {lcase}
        great, {lcase}: {loads} on its {end} node
        please add {loads} to the {end} node of that member in {lcase}
        got it. can you apply a point load of {loads} at the {end} node of this element? case {lcase}
        {lcase} case: add {loads} on that member's {end} joint
        ok so put a nodal load on its {end} node, {loads}, load case {lcase}
        I want {loads} at the element's {end} node, under load case {lcase}
        case {lcase}, {loads} - put it on the {end} node of that element
        Thanks. Under {lcase}, load its {end} node with {loads} please
        so the {end} node of this member should carry {loads} in load case {lcase}; add that
        {loads} at the {end} joint of the element above, LC {lcase}
        could you take the {end} node from that result and apply {loads} to it ({lcase})?
        nodal load on that element's {end} node: {loads}, case {lcase}. pls
    """),
    "mt.elem_jnode.mixed": _t("""
        그 element {end} node에 {lcase} case로 {loads} 넣어줘
        ok, {end} 노드에 {loads} apply ({lcase})
        그럼 {end} node에 point load {loads}, case {lcase}
        거기 {end} node에 {loads} add, load case {lcase}
        {end} 쪽 node에 {loads} 줘, case는 {lcase}
        이 member {end} node에 {lcase} nodal load {loads} plz
        고마워, 그 member {end} node에 point load {loads} 넣어 주세요, load case {lcase}
        확인했어. {lcase} case로 이 element {end} 절점에 {loads} apply 해줄래?
        방금 조회한 element의 {end} node에 nodal load {loads} 추가 ({lcase})
        load case {lcase}: 그 요소 {end} node에 {loads} 부탁해요
        load case는 {lcase}. 그 element {end} node에 {loads} 넣어줘
        {loads}, 이 member {end} 절점에 apply 해줘 (case {lcase})
        LC {lcase} 기준, 그 요소 {end} node에 point load {loads} 부탁
        그 element의 {end} node 번호 써서 nodal load 넣어줄래? {loads}, case {lcase}
        {end} node 하중 input - case: {lcase} / value: {loads}
        알겠어요, 거기 {end} 쪽 node에다 {lcase} case load {loads} 걸어 주세요
    """),
    "mt.elem_load.ko": _t("""
        방금 만든 요소에 {lcase} 케이스로 등분포하중 {q} 걸어줘, 방향 {dir}
        그 부재에 분포하중 {q} ({dir}, {lcase})도 넣어줘
        좋아. 그 요소에 {q} 등분포 재하해줘, {dir}, 케이스 {lcase}
        이어서 새 요소에 보하중 {q}, {dir} 방향, 하중케이스 {lcase}
        거기에 {q} 분포하중 줘 ({dir}, 케이스 {lcase})
        생성된 부재에 {dir} 방향 {q} 등분포, 케이스는 {lcase}
        고마워. 이제 그 요소에 {dir} 방향 등분포하중 {q} 넣어 주세요, 하중케이스 {lcase}
        방금 생성한 부재에 {lcase} 케이스 보하중 추가해줄래? {q}, 방향 {dir}
        새로 만든 요소에도 분포하중 걸어줘: {q} ({dir}), 케이스 {lcase}
        {lcase} 케이스로 그 부재에 {q} 분포하중 재하 부탁해요 ({dir} 방향)
        하중케이스 {lcase}, 방향 {dir}, 크기 {q}. 방금 그 요소에 등분포로 넣어줘
        {q} 등분포하중 그 요소에 걸어줄래? 케이스는 {lcase}, {dir} 방향
        좋아요. 이제 보하중: {dir} / {q} / {lcase}
        새 부재에 분포하중 추가 부탁해요 - 케이스 {lcase}, 하중 {q}, 방향 {dir}
        그 요소 전 길이에 {dir} 방향으로 {q} 재하해줘 ({lcase})
        ㅇㅋ 그럼 {lcase} 케이스에 {q} 등분포 줘, 방향은 {dir}
    """),
    "mt.elem_load.en": _t("""
        now put a {q} uniform load on that element, {dir}, case {lcase}
        add a beam load of {q} ({dir}) to the new element in {lcase}
        great, load it with {q} along {dir} for {lcase}
        apply UDL {q} {dir} on the element you just made, case {lcase}
        next, {lcase} line load {q} on it ({dir})
        please add {q} distributed load in {dir} to that member, load case {lcase}
        thanks, now add a distributed load of {q} in {dir} on the new element, case {lcase}
        can you put a {lcase} UDL of {q} along {dir} on the element you just created?
        ok, that member also needs a beam load: {q}, {dir}, load case {lcase}
        Apply {q} uniformly on it in direction {dir}, under {lcase}.
        load case {lcase}, direction {dir}, intensity {q}: apply it as a UDL on that element
        Could you add {q} along {dir} to the new member? Use case {lcase}
        ok now beam load: {dir} / {q} / {lcase}
        for {lcase}, that element gets a uniform {q} in {dir}
        great. please load the whole element with {q} ({dir}) under load case {lcase}
        UDL on the element just created -> q = {q}, dir = {dir}, LC = {lcase}
    """),
    "mt.elem_load.mixed": _t("""
        방금 만든 element에 {lcase} case로 UDL {q} 걸어줘, direction {dir}
        그 member에 distributed load {q} ({dir}, {lcase}) 추가
        ok, 그 element에 {q} uniform load apply, {dir}, case {lcase}
        이어서 new element에 beam load {q}, {dir} 방향, load case {lcase}
        거기에 line load {q} 줘 ({dir}, case {lcase})
        생성된 element에 {dir} direction {q} UDL, case는 {lcase}
        고마워, 이제 그 element에 {dir} 방향 UDL {q} 넣어 주세요, load case {lcase}
        방금 생성한 member에 {lcase} case beam load 추가해줄래? {q}, direction {dir}
        new element에도 distributed load 걸어줘: {q} ({dir}), case {lcase}
        {lcase} case로 그 요소에 uniform load {q} apply 부탁해요 ({dir})
        load case {lcase}, direction {dir}, 크기 {q}. 방금 만든 element에 UDL로 넣어줘
        {q} distributed load 그 member에 걸어줄래? case는 {lcase}, {dir} 방향
        좋아요, 이제 beam load: {dir} / {q} / {lcase}
        새 element에 uniform load 추가 부탁해요 - LC {lcase}, q {q}, dir {dir}
        그 element 전체에 {dir} direction으로 {q} 재하해줘 ({lcase})
        ㅇㅋ 그럼 {lcase} case에 {q} UDL 줘, direction은 {dir}
    """),
    "mt.case_load.ko": _t("""
        그 케이스로 노드 {node}에 {loads} 넣어줘
        좋아, 이 하중케이스에 {node}번 절점하중 {loads} 추가
        방금 만든 케이스에서 노드 {node}에 {loads} 재하해줘
        거기에 절점 {node} 집중하중 {loads}
        이제 그 케이스로 {node}번 노드에 {loads} 걸어
        새 케이스에 노드 {node} 하중 {loads} 부탁
        고마워. 그럼 이 케이스에 절점 {node} 하중 {loads} 넣어 주세요
        방금 추가한 하중케이스로 {node}번 노드에 집중하중 {loads} 걸어줄래?
        좋아요, 그 하중조건에서 노드 {node}에 절점하중 {loads} 재하 부탁해요
        이어서 같은 케이스로 절점 {node}번에 {loads}
        {loads}, 노드 {node}에 걸어줘. 케이스는 방금 그거
        그 하중케이스 쓰고 절점번호 {node}, 하중 {loads}
        추가된 케이스에 집중하중 넣어줄래? 노드 {node}번, {loads}
        하중값 {loads} / 대상 노드 {node} / 케이스: 방금 만든 것
        ㅇㅋ 이제 이 케이스에서 {node}번 절점 하중 입력해 주세요 - {loads}
        그다음은 절점하중이야. 방금 케이스, 노드 {node}, {loads}
    """),
    "mt.case_load.en": _t("""
        now apply {loads} at node {node} in that case
        ok, add a nodal load {loads} on node {node} to this load case
        in the case you just made, put {loads} on node {node}
        great, node {node} gets {loads} in it
        use that load case for {loads} at joint {node}
        next: {loads} on node {node}, same case
        thanks, now load node {node} with {loads} in the new case
        can you add {loads} on joint #{node} under the case you just created?
        ok, apply a point load of {loads} at node {node} using this load case
        pls put a nodal load on node {node} for that case, {loads}
        {loads} on node {node}, in the case you just added
        perfect. Now use it: node {node}, load {loads}
        could you put a point load into that new case? node #{node}, {loads}
        Load value {loads}, target node {node}, case = the one just created
        that case should carry {loads} at joint {node}, please add it
        ok next, nodal load under this case -> node {node}: {loads}
    """),
    "mt.case_load.mixed": _t("""
        그 case로 node {node}에 {loads} 넣어줘
        ok, 이 load case에 {node}번 node load {loads} add
        방금 만든 case에서 node {node}에 {loads} apply 해줘
        거기에 node {node} point load {loads}
        이제 그 load case로 {node}번 노드에 {loads}
        new case에 node {node} load {loads} plz
        고마워요, 방금 추가한 load case에 절점 {node} 하중 {loads} 넣어 주세요
        그 case 써서 {node}번 joint에 point load {loads} 걸어줄래?
        좋아, this load case로 node {node}에 nodal load {loads} apply 부탁해요
        이어서 같은 case에서 노드 {node}번에 {loads} add
        {loads}, node {node}에 걸어줘. case는 방금 그거
        그 load case 쓰고 node No. {node}, load {loads}
        추가된 case에 point load 넣어줄래? node {node}번, {loads}
        load 값 {loads} / target node {node} / case: 방금 만든 것
        ㅇㅋ 이제 이 case에서 {node}번 joint load input 해 주세요 - {loads}
        다음은 nodal load예요. 방금 case, node {node}, {loads}
    """),
})

# Requests missing a required value: the answer asks for it instead of guessing.
PHRASINGS.update({
    "clarify.node_coords.ko": _t("""
        노드 {id}번 하나 만들어줘
        {id}번 절점 추가해줘
        새 노드 {id} 생성 부탁해요
        노드 {id} 넣어줘
        절점 {id}번 생성
        절점 {id}번 새로 하나 잡아줘
        모델에 노드 {id}번 추가해 주실 수 있나요?
        {id}번 노드 생성해 줄래?
        노드 하나 더 필요해, 번호는 {id}번
        새 절점 등록 부탁드려요. 절점번호 {id}
        {id}번으로 절점 하나 생성해 주세요
        노드 추가 요청: 번호 {id}
        절점 하나 새로 만들 건데 번호는 {id}번으로 해줘
        {id}번 노드가 아직 없네요. 만들어 주실래요?
        노드 생성 부탁드립니다 (노드번호 {id})
        새 노드 - {id}번, 추가 ㅇㅇ
    """),
    "clarify.node_coords.en": _t("""
        create node {id}
        add a new node {id} please
        I need node #{id}
        make joint {id}
        Can you add node {id}?
        Please insert a node numbered {id}.
        new joint {id}
        could you set up node {id} for me?
        need a node, id {id}
        Add joint #{id} to the model
        node {id} - create it please
        Could you create a node with ID {id}?
        Add one more joint to the model, number {id}.
        new node, No. {id}, plz
        Node {id} doesn't exist yet. Can you make it?
        I'd like to add node number {id}.
    """),
    "clarify.node_coords.mixed": _t("""
        node {id}번 create 해줘
        {id}번 node 추가
        new node {id} 만들어줘
        node {id} add 좀
        절점 {id} create plz
        node {id}번 하나 insert 해줘
        새 joint {id} 만들어 줄래?
        node number {id}번 등록해줘
        {id}번 node 하나 생성 부탁
        model에 node {id} 추가해 주세요
        ID {id}번으로 node 하나 추가해 주세요
        node 생성 요청: 번호 {id}
        {id}번 joint 좀 만들어줘 plz
        새 node 필요해요, node no. {id}
        node {id}번 아직 없네, create 해줄래?
        노드 하나 add 해줘 - ID {id}
    """),
    "clarify.node_partial.ko": _t("""
        노드 {id}번 {partial}에 만들어줘
        절점 {id} 추가, {partial}
        {partial} 위치에 노드 {id} 생성
        노드 {id} 좌표 {partial}, 넣어줘
        {id}번 노드 {partial}
        절점 {id}번 만들어줘, {partial}
        노드 {id} 추가해 주세요. 좌표는 {partial}
        좌표 {partial}인 노드 {id}번 등록
        {partial}에 절점 {id} 하나 잡아줄래?
        노드 {id}번 하나 넣어줘 ({partial})
        {partial}, 이 위치에 {id}번 절점 생성해줘
        노드 번호 {id}, 좌표 {partial} 입력 부탁드려요
        좌표값 {partial}. 여기에 노드 하나 만들어 주세요, 번호 {id}
        노드 생성: {id}번 / {partial}
        {partial} 위치에 새 노드 추가해 줄래요? 번호는 {id}번
        절점 {id}번 좀 찍어줘 ㅇㅇ 좌표 {partial}
    """),
    "clarify.node_partial.en": _t("""
        create node {id} at {partial}
        add node {id} with {partial}
        node {id}: {partial}
        put node #{id} at {partial}
        make a node {id}, {partial}
        define joint {id}: {partial}
        I need node #{id} placed at {partial}
        new node {id} ({partial})
        Could you insert node {id} at {partial}?
        node {id} goes at {partial}, add it please
        at {partial}, add node {id}
        Node ID {id}; coordinates {partial}. Please create it.
        new joint - {partial}, number {id}
        Can you place a node numbered {id} at {partial}?
        {partial}: that's where node #{id} goes, create it plz
        Please add one node (No. {id}) with {partial}.
    """),
    "clarify.node_partial.mixed": _t("""
        node {id}번 {partial}에 create
        {partial}에 node {id} 추가해줘
        node {id} add 해줘, {partial}
        노드 {id} coordinate {partial}
        new node {id}번 {partial}
        joint {id} 추가, coordinate {partial}
        {partial} 위치에 new node {id} 생성해줘
        node {id}번 만들어줘, coords {partial}
        절점 {id} insert 해줘 ({partial})
        node {id} 좌표는 {partial}, create 부탁해요
        {partial} 위치에 node 하나, ID {id}번
        node 번호 {id}, coordinates: {partial} 생성 부탁해요
        좌표 {partial}에 joint {id}번 create 해줄래?
        new node 요청 - {partial}, No. {id}
        node {id} 좀 찍어줘 plz, 좌표 {partial}
        {id}번 절점 add 해주세요 (coords: {partial})
    """),
    "clarify.load_node.ko": _t("""
        {lcase} 케이스로 {loads} 하중 걸어줘
        절점하중 {loads} 추가해줘 ({lcase})
        하중케이스 {lcase}에 집중하중 {loads} 넣어줘
        {loads} 재하해줘, 케이스 {lcase}
        노드에 {loads} 걸어줘, 케이스 {lcase}
        {lcase} 하중케이스에 절점하중 추가해 주세요: {loads}
        절점에 {loads} 작용시켜줘
        집중하중 {loads} 등록 부탁해요 ({lcase})
        {loads}짜리 노드 하중 넣어 줄래? 케이스는 {lcase}
        하중 {loads} 좀 줘, {lcase} 케이스로
        집중하중 하나 넣어줘. 크기 {loads}, 하중케이스 {lcase}
        하중케이스 {lcase} / 절점하중 {loads} 추가 부탁드립니다
        {loads} 크기의 절점하중 좀 넣어줄래? ㅇㅇ
        케이스 {lcase}에서 노드 하중 추가: {loads}
        절점하중 추가 요청 - {loads}, {lcase}
        {lcase} 케이스에 절점하중 넣어 주세요. 값은 {loads}
    """),
    "clarify.load_node.en": _t("""
        apply {loads} in load case {lcase}
        add a nodal load {loads} to {lcase}
        put {loads} on the node ({lcase})
        nodal load {loads}, case {lcase}
        I want a point load of {loads} in {lcase}
        Add a point load of {loads} under {lcase}
        set up a nodal load: {loads} ({lcase})
        {loads} nodal load please
        Can you apply a concentrated load {loads} to a node in case {lcase}?
        need a joint load {loads}, {lcase}
        In load case {lcase}, add a nodal load: {loads}
        Nodal load please - {loads}, LC {lcase}
        {loads} as a point load, case {lcase}, thanks
        Could you add a joint load of {loads}?
        LC {lcase}: nodal load {loads}
        I'd like to apply {loads} as a concentrated load under load case {lcase}.
    """),
    "clarify.load_node.mixed": _t("""
        {lcase} case로 {loads} load 걸어줘
        nodal load {loads} 추가 ({lcase})
        load case {lcase}에 point load {loads}
        {loads} apply 해줘, case {lcase}
        node에 {loads} 걸어줘, {lcase}
        point load {loads} 추가해줘, {lcase} case
        nodal load 하나 넣어줘: {loads}
        {lcase}에 concentrated load {loads} apply 부탁
        node load {loads} 걸어 줄래? ({lcase})
        절점에 {loads} load 줘
        LC {lcase}에 nodal load 추가해줘: {loads}
        point load 값 {loads}, load case는 {lcase}
        {loads}짜리 joint load 하나 넣어 주세요
        하중케이스 {lcase} - node load {loads} add 부탁
        nodal load 넣어줄래? {loads}, case {lcase}
        concentrated load {loads} 좀 apply 해줘 plz
    """),
    "clarify.load_case.ko": _t("""
        노드 {node}에 {loads} 넣어줘
        {node}번 절점에 집중하중 {loads}
        절점 {node} 하중 {loads} 추가해줘
        노드 {node}번에 {loads} 재하
        {node}번 노드 절점하중 {loads} 부탁해
        노드 {node}번에 집중하중 {loads} 걸어 주세요
        {node}번 절점 하중: {loads}
        절점 {node}에 {loads} 작용시켜 줄래?
        노드 {node}에 하중 좀 넣어줘. {loads}
        {loads} 하중을 {node}번 노드에 재하해줘
        {loads}, 노드 {node}번에 넣어 주세요
        절점하중 추가: 노드 {node} / {loads}
        하중 {loads} 재하 부탁해요. 대상 절점은 {node}번
        노드번호 {node}에 집중하중 줘 ㅇㅇ {loads}
        {node}번 노드에 {loads} 걸어 줄 수 있어요?
        집중하중 {loads} 추가해줘 → {node}번 절점
    """),
    "clarify.load_case.en": _t("""
        apply {loads} at node {node}
        put {loads} on node {node}
        add a nodal load of {loads} to node #{node}
        node {node} gets {loads}
        load joint {node} with {loads}
        Please apply a point load of {loads} to joint {node}.
        node {node}: {loads}
        I need {loads} on node #{node}
        could you put a concentrated load {loads} on node {node}?
        nodal load for node {node}, {loads}
        {loads} on joint #{node}, please
        Add a point load to node {node}: {loads}
        Could you apply {loads} at node number {node}?
        nodal load - node {node}, {loads}
        For node {node}, I need a concentrated load of {loads}.
        apply this load: {loads}. Target node is {node}.
    """),
    "clarify.load_case.mixed": _t("""
        node {node}에 {loads} 넣어줘
        {node}번 node에 point load {loads}
        절점 {node} load {loads} add
        node {node}번에 {loads} apply
        {node}번 노드 nodal load {loads} plz
        node {node}번에 concentrated load {loads} 줘
        절점 {node}에 {loads} load 걸어 주세요
        {node}번 joint에 point load {loads} 추가해 줄래?
        node {node} load: {loads} 넣어줘
        {loads} nodal load, node {node}에 apply 해주세요
        {loads} point load를 node {node}번에 걸어줘
        node no. {node}에 nodal load 추가: {loads}
        하중 {loads}, target node {node}번, apply 부탁해요
        joint {node}번 load 좀 넣어줘 plz → {loads}
        {node}번 node에 concentrated load {loads} 걸어 주실래요?
        nodal load 추가 - {loads} @ 노드 {node}
    """),
    "clarify.elem_nodes.ko": _t("""
        {etype} 요소 {id}번 추가해줘, 재질 {matl} 단면 {sect}
        요소 {id} 만들어줘 ({etype}, 재질 {matl}, 단면 {sect})
        재질 {matl} 단면 {sect}인 {etype} {id}번 생성
        부재 {id}번 넣어줘, 종류 {etype}
        요소번호 {id}, {etype}, 재료 {matl}번
        {etype} 부재 {id}번 생성해 주세요
        요소 {id} 추가 부탁해, 재료 {matl}번 단면 {sect}번
        새 {etype} {id}번 넣어줘
        부재번호 {id}, 재질 {matl}, 단면 {sect} 등록해줘
        {id}번 요소 하나 만들어 줄래? 종류는 {etype}
        재질 {matl}번, 단면 {sect}번으로 {etype} 하나 추가해줘. 요소번호 {id}
        단면 {sect} 재질 {matl} 쓰는 부재 만들어 주세요, 번호는 {id}번
        요소 생성: ID {id} / {etype} / 재료 {matl} / 단면 {sect}
        {etype} 부재 하나 필요해요 (번호 {id}, 단면 {sect}번)
        새 요소 {id}번 ㅇㅇ 재질 {matl}
        재료 {matl}, 단면 {sect}, 종류 {etype} - 요소 {id}번 추가 좀
    """),
    "clarify.elem_nodes.en": _t("""
        add a {etype} element {id} with material {matl} and section {sect}
        create element {id} ({etype})
        new {etype} #{id}, material {matl}, section {sect}
        make member {id} a {etype}
        I need element {id}: {etype}, sect {sect}
        Please define member {id} as a {etype} with section {sect}
        new element {id}, material {matl}
        add {etype} {id}
        can you insert element #{id}? It's a {etype}, mat {matl}, sec {sect}
        set up a {etype} member numbered {id}
        Material {matl}, section {sect}: add {etype} element #{id}
        elem {id}: {etype}, mat {matl}, sec {sect}
        Could you create a {etype} using section {sect} and material {matl}? Its ID is {id}.
        need one more member - No. {id}, type {etype}
        With material {matl}, add element number {id}.
        Please create a new {etype}, id {id}, section {sect}
    """),
    "clarify.elem_nodes.mixed": _t("""
        {etype} element {id}번 추가, material {matl} section {sect}
        element {id} create 해줘 ({etype})
        material {matl} section {sect}인 {etype} {id} 생성
        member {id}번 add, type {etype}
        요소 {id} type {etype}, 하나 만들어
        {etype} member {id}번 생성해줘
        요소 {id} add 부탁, material {matl}번 section {sect}번
        new element {id}번 만들어줘, type {etype}
        element {id} insert 해 줄래? matl {matl}, sect {sect}
        {etype} {id} 하나 define 해주세요
        material {matl}번, section {sect}번 {etype} element 하나, 번호 {id}
        elem {id}번 추가: type {etype}, matl {matl}, sect {sect}
        section {sect} 쓰는 {etype} 만들어줘 plz, element ID {id}
        새 member 필요해요 - No. {id}, 재질 {matl}
        {etype} 요소 create 부탁해요 (요소번호 {id})
        재료 {matl}, 단면 {sect}번으로 element {id}번 add 해줄래?
    """),
    "clarify.support_type.ko": _t("""
        노드 {nodes}에 지점 조건 걸어줘
        절점 {nodes} 경계조건 설정해줘
        {nodes}번 노드 서포트 추가
        노드 {nodes} 구속해줘
        경계조건 넣어줘, 노드 {nodes}
        노드 {nodes}에 지지조건 넣어 주세요
        {nodes}번 절점 경계조건 잡아줘
        노드 {nodes} 서포트 등록해 줄래?
        하부 절점 {nodes}에 지점 설정 부탁해요
        절점 {nodes} 구속조건 추가
        지점 조건 추가해 주세요. 대상 노드: {nodes}
        지지조건 필요해요, {nodes}번 절점
        경계조건 설정 부탁 - 절점 {nodes}
        노드 {nodes} 쪽에 서포트 좀 달아 줄래?
        절점번호 {nodes}에 경계조건 지정해줘
        서포트 입력: {nodes}번 노드 ㅇㅇ
    """),
    "clarify.support_type.en": _t("""
        add supports at nodes {nodes}
        restrain node {nodes}
        set boundary conditions on {nodes}
        nodes {nodes} need supports
        put a support at joint {nodes}
        Please add boundary conditions to nodes {nodes}.
        support nodes {nodes}
        joints {nodes} need to be restrained
        can you define supports for nodes {nodes}?
        set up restraints at {nodes}
        Nodes {nodes}: add boundary conditions.
        Could you assign supports to joints {nodes}?
        need restraints on node(s) {nodes} plz
        Supports at {nodes}, please.
        Please restrain the following nodes: {nodes}
        boundary condition for nodes {nodes} - can you set that up?
    """),
    "clarify.support_type.mixed": _t("""
        node {nodes}에 support 걸어줘
        절점 {nodes} boundary condition 설정
        {nodes}번 node support 추가
        node {nodes} restraint 해줘
        support 넣어줘, node {nodes}
        node {nodes}에 boundary condition 넣어 주세요
        절점 {nodes} support 설정해 줄래?
        {nodes}번 joint restraint 추가해줘
        하부 node {nodes}에 support 좀 잡아줘
        node {nodes} supports 등록 부탁
        boundary condition 추가 부탁해요. 대상 node: {nodes}
        {nodes}번 node restraint 좀 걸어줘 plz
        support 설정: 절점 {nodes}
        node no. {nodes}에 지지조건 assign 해 줄래?
        절점 {nodes} boundary 조건 넣어 주세요
        supports 필요함 - node {nodes}
    """),
    "clarify.beam_load_value.ko": _t("""
        요소 {elem}에 {lcase} 등분포하중 걸어줘
        {elem}번 부재에 분포하중 넣어줘, 케이스 {lcase}
        보 {elem} 등분포 재하 ({lcase})
        하중케이스 {lcase}에 요소 {elem} 보하중 추가
        요소 {elem} 분포하중 줘
        {elem}번 요소에 등분포하중 재하해 주세요 ({lcase})
        부재 {elem} 분포하중 추가해줘, 하중케이스 {lcase}
        보 {elem}에 선하중 좀 넣어줄래?
        {lcase} 케이스로 요소 {elem}에 등분포 걸어줘
        요소 {elem} 보하중 등록 부탁
        하중케이스 {lcase}에서 {elem}번 보에 등분포하중 추가해 주세요
        등분포하중 넣어줘. 대상 요소 {elem}번, 케이스 {lcase}
        {elem}번 부재 선하중 좀 걸어줄래? ㅇㅇ
        보하중 추가 요청: 요소 {elem} / {lcase}
        케이스 {lcase} - 부재번호 {elem} 분포하중 재하
        요소번호 {elem}에 분포하중 필요해요
    """),
    "clarify.beam_load_value.en": _t("""
        put a uniform load on element {elem} in {lcase}
        add a beam load to element {elem} ({lcase})
        element {elem} needs a UDL, case {lcase}
        load member {elem} with a distributed load
        apply a line load to beam {elem} under {lcase}
        Please add a distributed load on member {elem} for {lcase}.
        UDL on elem {elem}
        can you put a line load on element #{elem} in case {lcase}?
        element {elem} should carry a uniformly distributed load ({lcase})
        I want a member load on beam {elem}, load case {lcase}
        In {lcase}, apply a distributed load to element {elem}.
        beam load plz - elem #{elem}, LC {lcase}
        Could member {elem} get a line load?
        LC {lcase}: UDL on member {elem}
        I need a uniform load on element number {elem}.
        Add a distributed load, load case {lcase}, to beam {elem}
    """),
    "clarify.beam_load_value.mixed": _t("""
        element {elem}에 {lcase} UDL 걸어줘
        {elem}번 member에 distributed load 넣어줘, case {lcase}
        beam {elem} 등분포 apply ({lcase})
        load case {lcase}에 element {elem} beam load 추가
        element {elem} line load 줘
        member {elem}에 등분포하중 apply 해주세요 ({lcase})
        {elem}번 element에 line load 추가해 줄래?
        {lcase} case로 beam {elem}에 UDL 넣어줘
        요소 {elem} distributed load 등록, load case {lcase}
        elem {elem} 분포하중 add 부탁
        LC {lcase}에서 element {elem}번 UDL 추가해줘
        distributed load 넣어 주세요. 대상 member {elem}번
        elem {elem} 등분포 load 좀 걸어줄래? plz
        beam load 추가 요청: element {elem} / case {lcase}
        {lcase} load case - 부재 {elem} line load apply
        요소번호 {elem}에 uniform load 필요해요, LC {lcase}
    """),
    "clarify.matl_grade.ko": _t("""
        {mtype} 재질 {id}번 추가해줘
        재료 {id} 만들어줘, {mtype}
        새 재질 {id}번, 종류는 {mtype}
        재질 {id} 정의해줘
        재질번호 {id}에 {mtype} 하나
        {mtype} 재료 {id}번 등록해 주세요
        재질 {id}번 생성해 줄래?
        새 재료 하나 추가, 번호 {id}, 종류 {mtype}
        재료번호 {id}에 {mtype} 넣어줘
        재질 {id} 잡아줘, {mtype} 계열로
        재질 하나 추가해 주세요. 번호 {id}번, 종류 {mtype}
        {mtype} 재료 필요해요 - 재질번호 {id}
        새 재료 등록: ID {id}
        재질 {id}번 좀 만들어줘 ㅇㅇ 종류는 {mtype}
        {mtype} 계열 재질 정의 부탁드립니다 (번호 {id})
        재료번호 {id}번 새로 만들어 줄 수 있어요?
    """),
    "clarify.matl_grade.en": _t("""
        add a {mtype} material {id}
        create material {id}, {mtype}
        new material #{id} ({mtype})
        define material {id}
        I need a {mtype} material numbered {id}
        Please register material {id} as {mtype}.
        mat {id}, {mtype}
        can you set up material #{id}?
        insert a new {mtype} material with id {id}
        material {id} should be {mtype}, add it
        Material {id} - {mtype}, please add it
        Could you create a new {mtype} material? ID {id}.
        matl #{id}: {mtype}
        need a material with number {id}
        Please define a {mtype} material, No. {id}.
        Add material ID {id} to the model.
    """),
    "clarify.matl_grade.mixed": _t("""
        {mtype} material {id}번 추가해줘
        재료 {id} create, {mtype}
        new material {id}번 type {mtype}
        material {id} define 해줘
        material number {id}에 {mtype} 하나
        material {id}번 생성해 줄래? type은 {mtype}
        new {mtype} material 하나 add, 번호 {id}
        matl {id} 등록 부탁, {mtype}
        {mtype} 재질 {id}번 insert 해주세요
        재료 {id} setting 해줘 ({mtype})
        {mtype} material 하나 필요해요, 번호 {id}
        material 추가: ID {id}번, type {mtype}
        재질번호 {id}에 new material define 해줘
        matl {id}번 create 해 줄래? {mtype} 계열
        새 material 등록 부탁드립니다 (No. {id}, {mtype})
        재료 {id}번 add 좀 plz
    """),
})

# Out-of-domain requests; one intent per language, many slots so texts rarely repeat.
PHRASINGS.update({
    "irrelevant.ko": _t("""
        오늘 {city} 날씨 어때?
        {dish} 만드는 법 알려줘
        파이썬에서 {topic} 어떻게 써?
        주말에 볼 만한 {genre} 영화 추천해줘
        {a} 곱하기 {b} 하면 얼마야?
        {greet} 너는 뭘 할 수 있어?
        '{word}' 영어로 뭐라고 해?
        {city} 가는 비행기표 싸게 사는 법 있어?
        점심 메뉴로 {dish} 어때?
        엑셀에서 {excel} 하는 방법 알려줘
        {team} 어제 경기 결과 알아?
        {city} 맛집 추천 좀
        {greet} 심심한데 농담 하나 해줘
        자바스크립트 {topic} 설명해줘
        {month}에 여행 가기 좋은 곳 어디야?
        커피 하루에 {n}잔 마셔도 괜찮아?
    """),
    "irrelevant.en": _t("""
        what's the weather like in {city} today?
        how do I make {dish}?
        how do I use {topic} in Python?
        recommend a good {genre} movie for the weekend
        what is {a} times {b}?
        {greet} what can you do?
        how do you say '{word}' in Korean?
        any tips for cheap flights to {city}?
        is {dish} a good lunch idea?
        how do I {excel} in Excel?
        did {team} win last night?
        best restaurants in {city}?
        {greet} tell me a joke
        explain {topic} in JavaScript
        where should I travel in {month}?
        is it ok to drink {n} cups of coffee a day?
    """),
    "irrelevant.mixed": _t("""
        오늘 {city} weather 어때?
        {dish} recipe 알려줘
        python에서 {topic} 어떻게 써?
        weekend에 볼 {genre} movie 추천 좀
        {a} times {b} 얼마야?
        {greet} 너 무슨 기능 있어? features 알려줘
        '{word}' English로 뭐야?
        {city} flight 싸게 사는 tip 있어?
        lunch로 {dish} 어때?
        Excel에서 {excel} 하는 법
        {team} 어제 game 결과 알아?
        {city} restaurant 추천 좀
        {greet} joke 하나 해줘
        JavaScript {topic} 설명 plz
        {month}에 travel 가기 좋은 곳?
        coffee 하루 {n}잔 괜찮아?
    """),
})

# Vocabulary for the irrelevant slots: "ko" and "en"; mixed requests draw from either.
IRRELEVANT_VOCAB: dict[str, dict[str, list[str]]] = {
    "city": {"ko": ["서울", "부산", "제주", "도쿄", "뉴욕", "파리", "런던", "대전", "인천", "오사카", "방콕", "시드니"],
             "en": ["Seoul", "Busan", "Jeju", "Tokyo", "New York", "Paris", "London", "Berlin", "Osaka", "Bangkok",
                    "Sydney", "Chicago"]},
    "dish": {"ko": ["김치찌개", "된장찌개", "파스타", "불고기", "떡볶이", "카레", "비빔밥", "잡채", "샌드위치", "라면"],
             "en": ["kimchi stew", "carbonara", "bulgogi", "pad thai", "banana bread", "fried rice", "tomato soup",
                    "pancakes", "lasagna", "guacamole"]},
    "topic": {"ko": ["리스트 컴프리헨션", "데코레이터", "정규표현식", "클래스 상속", "예외 처리", "제너레이터",
                     "람다 함수", "비동기 함수"],
              "en": ["list comprehensions", "decorators", "regular expressions", "class inheritance",
                     "exception handling", "generators", "lambda functions", "async functions"]},
    "genre": {"ko": ["액션", "로맨스", "공포", "SF", "코미디", "애니메이션"],
              "en": ["action", "romance", "horror", "sci-fi", "comedy", "animated"]},
    "greet": {"ko": ["안녕!", "안녕하세요,", "하이~", "반가워요.", "저기요,", "ㅎㅇ"],
              "en": ["Hi!", "Hello,", "Hey there,", "Good morning!", "Yo,", "Hey,"]},
    "word": {"ko": ["행복", "우산", "도서관", "기차", "고양이", "약속", "생일", "바다"],
             "en": ["happiness", "umbrella", "library", "train", "cat", "promise", "birthday", "ocean"]},
    "excel": {"ko": ["VLOOKUP", "피벗 테이블", "조건부 서식", "중복 제거", "셀 병합"],
              "en": ["use VLOOKUP", "make a pivot table", "remove duplicates", "merge cells",
                     "add conditional formatting"]},
    "team": {"ko": ["토트넘", "LG 트윈스", "맨시티", "두산 베어스", "레이커스", "KT 위즈"],
             "en": ["the Lakers", "Tottenham", "the Yankees", "Man City", "the Dodgers", "Real Madrid"]},
    "month": {"ko": ["3월", "5월", "10월", "12월", "여름", "겨울"],
              "en": ["March", "May", "October", "December", "summer", "winter"]},
}

# Short on purpose: any text without a call is a right answer here, and every token of a canned
# reply is paid in training time (Korean costs ~3 tokens a syllable in SmolLM2's vocabulary).
IRRELEVANT_ANSWERS: dict[str, list[str]] = {
    "ko": [
        "GEN NX 모델링만 도와드릴 수 있어요.",
        "그건 제 범위 밖이에요. 모델링 작업을 말씀해 주세요.",
    ],
    "en": [
        "I can only help with GEN NX modelling.",
        "That's outside what I do; ask me about the GEN NX model.",
    ],
}

CLARIFY_ANSWERS: dict[str, dict[str, list[str]]] = {
    "node_coords": {
        "ko": [
            "노드 {id}의 좌표(x, y, z)를 알려주시겠어요?",
            "노드 {id}의 위치가 필요해요. x, y, z 좌표를 알려주시겠어요?",
        ],
        "en": [
            "What coordinates (x, y, z) should node {id} have?",
            "Where should node {id} go? Please give its x, y, z.",
        ],
    },
    "node_partial": {
        "ko": [
            "노드 {id}의 {missing} 좌표도 알려주시겠어요?",
            "{missing} 좌표가 빠졌어요. 노드 {id}의 {missing} 값은 얼마인가요?",
        ],
        "en": [
            "What {missing} coordinate(s) should node {id} have?",
            "I also need the {missing} coordinate(s) of node {id}. What are they?",
        ],
    },
    "load_node": {
        "ko": [
            "어느 노드에 하중을 줄까요? 노드 번호를 알려주세요.",
            "하중을 적용할 노드 번호가 필요해요. 몇 번 노드인가요?",
        ],
        "en": [
            "Which node should I apply the load to?",
            "Which node number should get this load?",
        ],
    },
    "load_case": {
        "ko": [
            "노드 {node}의 하중을 어느 하중케이스(예: DL, LL)에 넣을까요?",
            "하중케이스가 필요해요. DL, LL 중 어디에 넣을까요?",
        ],
        "en": [
            "Which load case (e.g. DL, LL) should the load on node {node} go into?",
            "Which load case should I put this in, e.g. DL or LL?",
        ],
    },
    "elem_nodes": {
        "ko": [
            "요소 {id}의 i단, j단 노드 번호를 알려주시겠어요?",
            "요소 {id}의 양 끝 노드가 필요해요. 몇 번과 몇 번 노드를 연결할까요?",
        ],
        "en": [
            "Which two nodes (i and j) should element {id} connect?",
            "What are the end nodes of element {id}?",
        ],
    },
    "support_type": {
        "ko": [
            "노드 {nodes}에 어떤 지점 조건을 줄까요? 고정, 핀, 롤러 중에서 골라 주세요.",
            "고정, 핀, 롤러 중 어떤 조건으로 할까요?",
        ],
        "en": [
            "Which support type for nodes {nodes}: fixed, pinned or roller?",
            "Should the supports be fixed, pinned or roller?",
        ],
    },
    "beam_load_value": {
        "ko": [
            "요소 {elem}에 줄 등분포하중 크기(kN/m)와 방향(GX, GY, GZ)을 알려주시겠어요?",
            "하중 크기와 방향이 필요해요. 요소 {elem}에 몇 kN/m를 어느 방향으로 줄까요?",
        ],
        "en": [
            "What intensity (kN/m) and direction (GX, GY or GZ) should the load on element {elem} have?",
            "How large is the load on element {elem} (kN/m), and in which direction?",
        ],
    },
    "matl_grade": {
        "ko": [
            "재질 {id}의 등급(예: SM355, SS275, C30/37)을 알려주시겠어요?",
            "재질 {id}의 강종이나 강도 등급은 무엇으로 할까요?",
        ],
        "en": [
            "Which grade should material {id} be (e.g. SM355, SS275, C30/37)?",
            "What grade is material {id}?",
        ],
    },
}

# How a training request that lacks a value gets it back, for its completed twin (the same request
# with the value supplied, answered with the call; `data.generator.clarify_twins`). {req} is the
# request, which keeps any closing punctuation at the very end; the other fields are the value.
CLARIFY_COMPLETIONS: dict[str, dict[str, list[str]]] = {
    "node_coords": {
        "ko": ["{req}, 좌표 {xyz}", "{req}, 위치는 {xyz}", "좌표 {xyz}: {req}", "{req} ({xyz})"],
        "en": ["{req} at {xyz}", "{req}, coordinates {xyz}", "At {xyz}: {req}", "{req}, located at {xyz}"],
        "mixed": ["{req}, 좌표 {xyz}", "{req}, coordinates {xyz}", "좌표 {xyz}: {req}", "{req} ({xyz})"],
    },
    "node_partial": {
        "ko": ["{req}, {rest}", "{req}, 나머지는 {rest}", "{req} ({rest})"],
        "en": ["{req}, {rest}", "{req} and {rest}", "{req} ({rest})"],
        "mixed": ["{req}, {rest}", "{req}, 나머지 {rest}", "{req} ({rest})"],
    },
    "load_node": {
        "ko": ["{req}, 절점 {node}번", "{req}, 노드는 {node}번", "{node}번 절점: {req}", "{req} (노드 {node})"],
        "en": ["{req} at node {node}", "{req}, node {node}", "{req} on joint #{node}", "Node {node}: {req}"],
        "mixed": ["{req}, node {node}", "{req} ({node}번 node)", "node {node}: {req}", "{req}, 노드 {node}"],
    },
    "load_case": {
        "ko": ["{req}, 하중케이스 {lcase}", "{req} ({lcase})", "하중케이스 {lcase}: {req}", "{lcase} 케이스, {req}",
               "{req}, 케이스는 {lcase}"],
        "en": ["{req} in {lcase}", "{req}, case {lcase}", "{req} (load case {lcase})", "In {lcase}, {req}",
               "Case {lcase}: {req}", "{req} under LC {lcase}"],
        "mixed": ["{req}, load case {lcase}", "{req} ({lcase} case)", "case {lcase}: {req}", "{lcase} 케이스, {req}"],
    },
    "elem_nodes": {
        "ko": ["{req}, 절점 {i}-{j}", "{req} ({i}번→{j}번 노드)", "노드 {i}, {j} 연결: {req}", "{req}, i단 {i} j단 {j}"],
        "en": ["{req}, nodes {i}-{j}", "{req} from node {i} to {j}", "{req}, connecting {i} and {j}",
               "Between nodes {i} and {j}: {req}"],
        "mixed": ["{req}, nodes {i}-{j}", "{req} ({i}번→{j}번 node)", "node {i}→{j}: {req}", "{req}, 노드 {i}-{j}"],
    },
    "support_type": {
        "ko": ["{req}, {ctype}", "{req} ({ctype})", "{ctype} 조건: {req}", "{req}, 조건은 {ctype}"],
        "en": ["{req} as {ctype}", "{req}, {ctype}", "{req} ({ctype} supports)", "{ctype} supports: {req}"],
        "mixed": ["{req}, type {ctype}", "{req} ({ctype})", "{ctype} support: {req}", "{req}, 조건 {ctype}"],
    },
    "beam_load_value": {
        "ko": ["{req}, {q} {dir} 방향", "{req} ({dir} {q})", "{dir} 방향 {q}: {req}"],
        "en": ["{req}, {q} in {dir}", "{req}: {q} ({dir})", "{req} with q = {q}, {dir}", "{q} along {dir}: {req}"],
        "mixed": ["{req}, {q} {dir} direction", "{req} ({dir}, {q})", "{dir} 방향 {q}: {req}"],
    },
    "matl_grade": {
        "ko": ["{req}, 등급 {grade}", "{req} ({grade})", "{grade} 등급, {req}"],
        "en": ["{req}, grade {grade}", "{req} ({grade})", "{grade}: {req}", "{req}, use {grade}"],
        "mixed": ["{req}, grade {grade}", "{req} ({grade})", "{grade} grade, {req}"],
    },
}

# Assistant summaries between a tool response and the user's follow-up (mixed -> ko).
SUMMARIES: dict[str, dict[str, str]] = {
    "elem_get": {"ko": "요소 {id}: {etype}, 노드 {i}→{j}, 재질 {matl}, 단면 {sect}.",
                 "en": "Element {id} is a {etype} from node {i} to node {j} (material {matl}, section {sect})."},
    "elem_create": {"ko": "요소 {id} 생성 완료.", "en": "Created element {id}."},
    "stld_create": {"ko": "하중케이스 {name} 추가 완료.", "en": "Added load case {name}."},
}

# Surface words for enum values, per language.
WORDS: dict[str, dict[str, dict[str, list[str]]]] = {
    "etype": {"ko": {"beam": ["보"], "column": ["기둥"], "truss": ["트러스"], "brace": ["가새", "브레이스"]},
              "en": {"beam": ["beam"], "column": ["column"], "truss": ["truss"], "brace": ["brace"]},
              "mixed": {"beam": ["beam", "보"], "column": ["column", "기둥"], "truss": ["truss"], "brace": ["brace", "가새"]}},
    "mtype": {"ko": {"steel": ["강재", "철골"], "concrete": ["콘크리트"]},
              "en": {"steel": ["steel"], "concrete": ["concrete"]},
              "mixed": {"steel": ["steel"], "concrete": ["concrete"]}},
    "ctype": {"ko": {"fixed": ["고정", "고정단"], "pinned": ["핀", "힌지"], "roller": ["롤러"]},
              "en": {"fixed": ["fixed"], "pinned": ["pinned", "pin", "hinged"], "roller": ["roller"]},
              "mixed": {"fixed": ["fixed", "고정"], "pinned": ["pinned", "pin", "힌지"], "roller": ["roller", "롤러"]}},
    "ltype": {"ko": {"dead": ["고정하중"], "live": ["활하중"], "wind": ["풍하중"], "seismic": ["지진하중"],
                     "snow": ["적설하중"], "temperature": ["온도하중"]},
              "en": {"dead": ["dead"], "live": ["live"], "wind": ["wind"], "seismic": ["seismic"], "snow": ["snow"],
                     "temperature": ["temperature", "thermal"]},
              "mixed": {"dead": ["dead", "고정하중"], "live": ["live", "활하중"], "wind": ["wind", "풍하중"],
                        "seismic": ["seismic", "지진"], "snow": ["snow"], "temperature": ["temperature"]}},
    "dir": {"ko": {"GX": ["GX", "전체좌표 X"], "GY": ["GY", "전체좌표 Y"], "GZ": ["GZ", "전체좌표 Z"]},
            "en": {"GX": ["GX", "global X"], "GY": ["GY", "global Y"], "GZ": ["GZ", "global Z"]},
            "mixed": {"GX": ["GX", "global X"], "GY": ["GY", "global Y"], "GZ": ["GZ", "global Z"]}},
    "atype": {"ko": {"": [""], "static": ["정적"], "eigen": ["고유치", "모드"], "buckling": ["좌굴"]},
              "en": {"": [""], "static": ["static", "linear static"], "eigen": ["eigenvalue", "modal"], "buckling": ["buckling"]},
              "mixed": {"": [""], "static": ["static", "정적"], "eigen": ["eigen", "modal", "고유치"], "buckling": ["buckling", "좌굴"]}},
    "end": {"ko": {"i": ["i단", "시작"], "j": ["j단", "끝"]},
            "en": {"i": ["i-end", "start"], "j": ["j-end", "end"]},
            "mixed": {"i": ["i단", "start", "i-end"], "j": ["j단", "end", "j-end"]}},
}

# Section designations: {h} {b} {tw} {tf} {t} {d} are mm values, {u} a unit suffix ("", "mm", "cm").
SECT_FORMS: dict[str, dict[str, list[str]]] = {
    "H": {"ko": ["H-{h}x{b}x{tw}/{tf}", "H {h}x{b}x{tw}x{tf}", "H형강 {h}x{b}x{tw}/{tf}"],
          "en": ["H-{h}x{b}x{tw}/{tf}", "H {h}x{b}x{tw}x{tf}", "H-shape {h}x{b}x{tw}/{tf}"],
          "mixed": ["H-{h}x{b}x{tw}/{tf}", "H-beam {h}x{b}x{tw}/{tf}", "H형강 {h}x{b}x{tw}x{tf}"]},
    "box": {"ko": ["□-{h}x{b}x{t}", "각형강관 {h}x{b}x{t}"], "en": ["□-{h}x{b}x{t}", "box {h}x{b}x{t}"],
            "mixed": ["box {h}x{b}x{t}", "각형강관 {h}x{b}x{t}"]},
    "pipe": {"ko": ["P-{d}x{t}", "원형강관 Ø{d}x{t}"], "en": ["P-{d}x{t}", "pipe {d}x{t}", "CHS {d}x{t}"],
             "mixed": ["pipe Ø{d}x{t}", "강관 {d}x{t}"]},
    "rect": {"ko": ["직사각형 {b}x{h}{u}", "{b}x{h}{u} 사각형"], "en": ["rectangular {b}x{h}{u}", "rect {b}x{h}{u}"],
             "mixed": ["rect {b}x{h}{u}", "직사각형 {b}x{h}{u}"]},
    "circle": {"ko": ["원형 D{d}{u}", "지름 {d}{u} 원형"], "en": ["circular D{d}{u}", "round {d}{u} dia."],
               "mixed": ["circle D{d}{u}", "원형 D{d}{u}"]},
}

PREFIXES: dict[str, list[str]] = {
    "ko": ["", "", "", "", "", "혹시 ", "그럼 ", "음 ", "아 그리고 ", "저기 "],
    "en": ["", "", "", "", "", "ok ", "hey ", "so ", "also, ", "quick one: "],
}
