/** The object without its undefined members, so a rendered manifest holds only what is set. */
export function omitUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The list, or undefined when it is empty or absent: an empty list renders, and hashes, as none. */
export const nonEmpty = <T>(list: T[] | undefined): T[] | undefined => (list?.length ? list : undefined);
