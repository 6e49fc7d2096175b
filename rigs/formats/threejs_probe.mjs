// Load a GLB with three.js's own GLTFLoader and play it with AnimationMixer, as a three.js app would, and print
// what three.js sees as JSON: meshes (morph target names, skin bones), clips (tracks), and at each requested time
// the morph influences, every node's local quaternion and world position, and (with --vertices) the posed vertices
// (morphs and skinning applied on the CPU by three.js's getVertexPosition).
// Usage: node threejs_probe.mjs NODE_MODULES FILE.glb TIMES_JSON [--vertices]
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [modules, file, timesJson, ...flags] = process.argv.slice(2);
// The ES module build: the one GLTFLoader's own `import ... from "three"` resolves to.
const THREE = await import(pathToFileURL(modules + "/three/build/three.module.js").href);
const { GLTFLoader } = await import(pathToFileURL(modules + "/three/examples/jsm/loaders/GLTFLoader.js").href);

const bytes = readFileSync(file);
const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
const gltf = await new Promise((done, fail) => new GLTFLoader().parse(buffer, "", done, fail));
const scene = gltf.scene;

const meshes = [];
scene.traverse((object) => {
  if (!object.isMesh) return;
  meshes.push({
    name: object.name,
    skinned: Boolean(object.isSkinnedMesh),
    morphNames: object.morphTargetDictionary
      ? Object.entries(object.morphTargetDictionary).sort((a, b) => a[1] - b[1]).map(([name]) => name)
      : [],
    bones: object.isSkinnedMesh ? object.skeleton.bones.map((bone) => bone.name) : [],
    vertexCount: object.geometry.attributes.position.count,
  });
});
const clips = gltf.animations.map((clip) => ({
  name: clip.name,
  duration: clip.duration,
  tracks: clip.tracks.map((track) => ({ name: track.name, keys: track.times.length, firstTimes: Array.from(track.times.slice(0, 4)) })),
}));

const mixer = new THREE.AnimationMixer(scene);
for (const clip of gltf.animations) mixer.clipAction(clip).play();
const samples = [];
for (const t of JSON.parse(timesJson)) {
  mixer.setTime(t);
  scene.updateMatrixWorld(true);
  const nodes = {};
  const morph = {};
  const vertices = {};
  scene.traverse((object) => {
    if (object.isMesh && object.morphTargetInfluences) morph[object.name] = Array.from(object.morphTargetInfluences);
    if (object.name) {
      const world = new THREE.Vector3();
      object.getWorldPosition(world);
      nodes[object.name] = { quaternion: object.quaternion.toArray(), world: world.toArray() };
    }
    if (object.isMesh && flags.includes("--vertices")) {
      if (object.isSkinnedMesh) object.skeleton.update();
      const count = object.geometry.attributes.position.count;
      const out = new Float32Array(count * 3);
      const v = new THREE.Vector3();
      for (let i = 0; i < count; i++) {
        object.getVertexPosition(i, v);
        // A skinned vertex is already in world space; a morphed one is local to its mesh.
        if (!object.isSkinnedMesh) v.applyMatrix4(object.matrixWorld);
        out.set([v.x, v.y, v.z], i * 3);
      }
      vertices[object.name] = Array.from(out);
    }
  });
  samples.push({ t, morph, nodes, vertices });
}
console.log(JSON.stringify({ meshes, clips, samples }));
