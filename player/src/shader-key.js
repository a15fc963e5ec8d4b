/* Stands in for spark-md5 in vtk.js's shader cache (build.mjs aliases it): the cache only
 * needs a key per distinct shader source, and the source itself is that key. Hashing every
 * actor's sources with MD5 cost about 50 ms of the first frame.
 */
export default { hash: (text) => text };
