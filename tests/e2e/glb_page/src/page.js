// The 3D-slide test page: three.js loads a GLB, plays its one animation to any clip second,
// reports which nodes are shown and draws the view from the GLB's own camera.
// Built into page.bundle.js (beside src/) by build.mjs: no CDN, no network at test time.
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";

const state = { renderer: null, scene: null, camera: null, mixer: null, clip: null, root: null };

function headlight(camera) {
  // Roughly VTK's light kit seen from the camera: a key light with the viewer, soft fill.
  const key = new THREE.DirectionalLight(0xffffff, 2.2);
  key.position.set(0.3, 0.4, 1.0);
  camera.add(key);
  camera.add(key.target);
  key.target.position.set(0, 0, -1);
  return new THREE.HemisphereLight(0xffffff, 0x8a8a8a, 1.1);
}

async function load(url, width = 1280, height = 720) {
  const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(width, height);
  renderer.setClearColor(0xffffff, 1);
  document.body.appendChild(renderer.domElement);
  const gltf = await new GLTFLoader().loadAsync(url);
  const scene = new THREE.Scene();
  scene.add(gltf.scene);
  let camera = gltf.cameras[0];
  if (!camera) {
    camera = new THREE.PerspectiveCamera(30, width / height, 0.01, 20);
    camera.position.set(0, 0, 0.6);
  }
  camera.aspect = width / height;
  camera.updateProjectionMatrix();
  if (!camera.parent) scene.add(camera);
  scene.add(headlight(camera));
  const mixer = new THREE.AnimationMixer(gltf.scene);
  const clip = gltf.animations[0] || null;
  if (clip) {
    const action = mixer.clipAction(clip);
    action.setLoop(THREE.LoopOnce, 1);
    action.clampWhenFinished = true;
    action.play();
  }
  Object.assign(state, { renderer, scene, camera, mixer, clip, root: gltf.scene });
  seek(0);
  return {
    duration: clip ? clip.duration : 0,
    tracks: clip ? clip.tracks.length : 0,
    name: clip ? clip.name : "",
    nodes: countNodes(gltf.scene),
    camera: gltf.cameras.length ? gltf.cameras[0].name : "",
  };
}

function countNodes(root) {
  let n = 0;
  root.traverse(() => { n += 1; });
  return n;
}

function seek(tau) {
  state.mixer.setTime(tau);
  state.scene.updateMatrixWorld(true);
  state.renderer.render(state.scene, state.camera);
  return state.mixer.time;
}

// Shown = visible, with no zero scale on it or above it (a STEP scale key of 0 hides a node).
// (Matrix4.decompose reports a singular matrix's scale as 1, so walk the local scales.)
function isShown(obj) {
  for (let o = obj; o; o = o.parent) {
    if (!o.visible || Math.abs(o.scale.x * o.scale.y * o.scale.z) < 1e-18) return false;
  }
  return true;
}

function shown(kind) {
  const out = [];
  state.root.traverse((obj) => {
    const d = obj.userData || {};
    if (d.kind === kind && isShown(obj)) {
      out.push({ ...d, label: d.name, name: obj.name, scale: obj.scale.toArray() });
    }
  });
  return out;
}

function names() {
  const out = [];
  state.root.traverse((obj) => { if (obj.userData && obj.userData.id) out.push([obj.name, obj.userData.name]); });
  return out;
}

window.slide = { load, seek, shown, names, ready: true };
