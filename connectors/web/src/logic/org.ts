// Unit names from GET /v1/org.
export interface OrgUnit {
  id: string;
  name: string;
  level: string;
  parent: string | null;
}
export interface Me {
  person: string | null;
  name: string | null;
  role: string;
  unit: string | null;
}
export interface OrgInfo {
  me: Me;
  levels: string[];
  units: OrgUnit[];
}

export class OrgIndex {
  readonly byId = new Map<string, OrgUnit>();
  readonly children = new Map<string, OrgUnit[]>();
  constructor(readonly info: OrgInfo) {
    for (const u of info.units) {
      this.byId.set(u.id, u);
      if (u.parent) {
        const list = this.children.get(u.parent) ?? [];
        list.push(u);
        this.children.set(u.parent, list);
      }
    }
  }
  // "第一网格" alone repeats across communities: a grid is named with its village.
  name(id: string | null | undefined): string {
    if (!id) return '';
    const u = this.byId.get(id);
    if (!u) return id;
    return u.name;
  }
  fullName(id: string | null | undefined): string {
    if (!id) return '';
    const u = this.byId.get(id);
    if (!u) return id;
    if (u.level === this.info.levels[0] && u.parent) {
      const p = this.byId.get(u.parent);
      if (p) return `${p.name}${u.name}`;
    }
    return u.name;
  }
  gridsUnder(id: string | null): OrgUnit[] {
    const out: OrgUnit[] = [];
    const walk = (uid: string) => {
      const kids = this.children.get(uid);
      if (!kids || kids.length === 0) {
        const u = this.byId.get(uid);
        if (u && u.level === this.info.levels[0]) out.push(u);
        return;
      }
      for (const k of kids) walk(k.id);
    };
    if (id) walk(id);
    else for (const u of this.info.units) if (!u.parent) walk(u.id);
    return out;
  }
}
